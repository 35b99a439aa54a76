"""The accounts domain: sign-up, sign-in, sessions, my account, personal data and staff tools."""

from selflink_api.accounts import models
from selflink_api.accounts.controllers import AuthController, UsersController
from selflink_api.accounts.services import PERSONAL_DATA_STORE, AccountsToolkit
from selflink_api.accounts.staff import StaffController
from selflink_api.platform.domains import Domain

DOMAIN = Domain(
    name="accounts",
    models=(models,),
    controllers=(AuthController, UsersController, StaffController),
    encrypted_stores=(PERSONAL_DATA_STORE,),
    toolkit=AccountsToolkit.build,
)
