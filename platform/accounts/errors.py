"""The refusal codes of accounts: roles, and the API's token login (``core.errors``)."""

from core.errors import ErrorCode


class AccountsCode(ErrorCode):
    ROLE_GRANT_NOT_ALLOWED = "role_grant_not_allowed"
    ROLE_REVOKE_NOT_ALLOWED = "role_revoke_not_allowed"
    ROLE_NOT_GRANTABLE = "role_not_grantable"  # the same role already, or the wrong place
    WRONG_CREDENTIALS = "wrong_credentials"
    EMAIL_UNVERIFIED = "email_unverified"
    SECOND_FACTOR_CODE_REQUIRED = "second_factor_code_required"
    SECOND_FACTOR_CODE_WRONG = "second_factor_code_wrong"
