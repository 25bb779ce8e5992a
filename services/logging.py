import logging
import sys


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # One line per outbound call doubles the logs of the gateway and the webhook sender.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # arq logs two lines per job (start, result): at hundreds of jobs a second that is most of
    # a worker's log and a few per cent of its CPU. Failures and retries still show (WARNING+);
    # ADUAN_LOG_LEVEL=DEBUG brings the job lines back.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("arq.worker").setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
