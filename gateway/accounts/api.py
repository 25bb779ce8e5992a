"""Routes of citizens' and staff's sessions (/api/v1/auth) and of the caller's own account
(/api/v1/me). Thin: parse, call the service, shape the answer."""

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from gateway.accounts.schemas import (
    AccountOut,
    RefreshIn,
    RegisterIn,
    TokenForm,
    TokenOut,
    TotpConfirmIn,
    TotpEnrolmentOut,
)
from gateway.deps import AuthServiceDep
from gateway.proxy import read_body
from gateway.ratelimit import RateLimited, get_limiter
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, Problem, ProblemError

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 8192

# Every request of the gateway's own routes counts per client address, as proxied ones do;
# sign-ins and registrations also in the stricter `login` group.
PER_ADDRESS = [Depends(RateLimited("ip"))]
LOGIN_ATTEMPT = Depends(RateLimited("login"))
auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=PER_ADDRESS)
me_router = APIRouter(prefix="/api/v1/me", tags=["me"], dependencies=PER_ADDRESS)


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": description}


Responses = dict[int | str, dict[str, Any]]
FORBIDDEN: Responses = {403: problem("Authenticated, but this role may not do it")}
UNAVAILABLE: Responses = {503: problem("The gateway's database is unavailable")}
TOO_MANY: Responses = {
    429: problem("Too many attempts from this address (or for this account): see Retry-After")
}


async def token_form(request: Request) -> TokenForm:
    """The OAuth2 token request (RFC 6749 §4.3, §6): form-encoded, each parameter once."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise ProblemError("unsupported_media_type", f"send the parameters as {FORM_MEDIA_TYPE}")
    body = await read_body(request, MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProblemError("bad_request", "the form is not valid UTF-8 form encoding") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise ProblemError("bad_request", f"the parameter {name} is sent more than once")
        fields[name] = value
    try:
        return TokenForm.model_validate({k: v for k, v in fields.items() if v != ""})
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc


TokenFormDep = Annotated[TokenForm, Depends(token_form)]


@auth_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountOut,
    summary="Register a citizen account",
    description=(
        "Creates a citizen account (role `citizen`) with a password of at least 10 characters, "
        "stored as an argon2id hash. Sign in afterwards at `POST /api/v1/auth/token`. The email "
        "is case-insensitive and unique: 409 when an account has it already. Anonymous callers "
        "only."
    ),
    responses={
        **PROBLEM_RESPONSES,
        **FORBIDDEN,
        409: problem("An account with this email exists already"),
        **TOO_MANY,
        **UNAVAILABLE,
    },
    dependencies=[Requires(Permission.account_register), LOGIN_ATTEMPT],
)
async def register(body: RegisterIn, service: AuthServiceDep) -> AccountOut:
    return await service.register(body)


@auth_router.post(
    "/token",
    response_model=TokenOut,
    summary="Sign in (OAuth2 password grant)",
    description=(
        "OAuth2 token endpoint (RFC 6749 §4.3), form-encoded: `grant_type=password`, "
        "`username` (the email), `password`, and `otp` (the 6-digit code) for accounts with a "
        "second factor. Answers a short-lived JWT access token (`Authorization: Bearer …`) "
        "and a refresh token. An unknown email, a wrong password and a deactivated account get "
        "the same 401. National admins without a second factor get 403 while "
        "`ADUAN_ADMIN_TOTP_REQUIRED` is on. `grant_type=refresh_token` with `refresh_token` "
        "does what `POST /api/v1/auth/refresh` does."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {FORM_MEDIA_TYPE: {"schema": TokenForm.model_json_schema()}},
        }
    },
    responses={
        **PROBLEM_RESPONSES,
        400: problem("A parameter was sent twice, or the form is not UTF-8"),
        403: problem("A national admin must enrol a second factor first"),
        413: problem(f"The form is larger than {MAX_FORM_BYTES} bytes"),
        415: problem("The body is not application/x-www-form-urlencoded"),
        **TOO_MANY,
        **UNAVAILABLE,
    },
    dependencies=[LOGIN_ATTEMPT],
)
async def token(
    form: TokenFormDep, service: AuthServiceDep, request: Request, response: Response
) -> TokenOut:
    if form.grant_type == "password" and form.username:
        # Guessing one account's password from many addresses is limited too.
        account = f"account:{form.username.strip().lower()}"
        await get_limiter(request).check(request, [("login", account)])
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    return await service.token(form)


@auth_router.post(
    "/refresh",
    response_model=TokenOut,
    summary="Trade a refresh token for new tokens",
    description=(
        "Spends the refresh token and answers a new access token and a new refresh token (the "
        "old one is used up). Presenting a refresh token that was used already revokes every "
        "refresh token of that sign-in (someone else has a copy) and answers 401: sign in "
        "again. Expired, revoked and unknown tokens and deactivated accounts are 401 too."
    ),
    responses={**PROBLEM_RESPONSES, **UNAVAILABLE},
)
async def refresh(body: RefreshIn, service: AuthServiceDep, response: Response) -> TokenOut:
    response.headers["Cache-Control"] = "no-store"
    return await service.refresh(body.refresh_token)


@auth_router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Sign out",
    description=(
        "Revokes the refresh token and every token refreshed from the same sign-in. The access "
        "token stays valid until it expires (minutes): drop it. An unknown token is not an "
        "error (204 too)."
    ),
    responses={422: PROBLEM_RESPONSES[422], **UNAVAILABLE},
)
async def logout(body: RefreshIn, service: AuthServiceDep) -> Response:
    await service.logout(body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get(
    "",
    response_model=AccountOut,
    summary="Your account",
    description=(
        "The signed-in account: role, name, email, phone, agency (staff) and whether sign-in "
        "asks for a second factor. Accounts only: API keys get 403."
    ),
    responses={**PROBLEM_RESPONSES, **FORBIDDEN, **UNAVAILABLE},
)
async def me(
    principal: Annotated[Principal, Requires(Permission.account_read_own)],
    service: AuthServiceDep,
) -> AccountOut:
    return await service.me(principal)


@me_router.post(
    "/totp",
    response_model=TotpEnrolmentOut,
    summary="Start enrolling a second factor (staff)",
    description=(
        "Staff only. Answers a new TOTP secret and its otpauth:// URI for an authenticator app. "
        "The second factor is on once `POST /api/v1/me/totp/confirm` has checked a code; "
        "calling this again before that replaces the secret. 409 when it is on already."
    ),
    responses={
        **PROBLEM_RESPONSES,
        **FORBIDDEN,
        409: problem("The second factor is on already"),
        **UNAVAILABLE,
    },
)
async def start_totp(
    principal: Annotated[Principal, Requires(Permission.account_read_own)],
    service: AuthServiceDep,
    response: Response,
) -> TotpEnrolmentOut:
    response.headers["Cache-Control"] = "no-store"
    return await service.start_totp(principal)


@me_router.post(
    "/totp/confirm",
    response_model=AccountOut,
    summary="Switch the second factor on",
    description=(
        "Checks a code of the secret from `POST /api/v1/me/totp`; when it is right the second "
        "factor is on and every later sign-in needs a code (`otp`). A wrong code is 422."
    ),
    responses={
        **PROBLEM_RESPONSES,
        **FORBIDDEN,
        409: problem("On already, or no enrolment was started"),
        **UNAVAILABLE,
    },
)
async def confirm_totp(
    body: TotpConfirmIn,
    principal: Annotated[Principal, Requires(Permission.account_read_own)],
    service: AuthServiceDep,
) -> AccountOut:
    return await service.confirm_totp(principal, body.code)
