"""Sign-in form."""

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from pharmacy.forms import SafeForm as FlaskForm


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    """Change your own password: the current one, then the new one twice."""

    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=200)]
    )
    new_password = PasswordField(
        "New password (at least 12 characters)", validators=[DataRequired(), Length(max=200)]
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", "The two new passwords differ.")],
    )
