"""Sign-in form."""

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from pharmacy.forms import SafeForm as FlaskForm


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
