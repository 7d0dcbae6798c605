//! Types with rules: e-mail addresses, new passwords, names, activation codes.

pub mod code;
pub mod email;
pub mod name;
pub mod password;

pub use code::ActivationCode;
pub use email::EmailAddress;
pub use name::PersonName;
pub use password::NewPassword;

/// The fields of a form that makes an account — a name and a password typed twice — checked
/// in the order the form shows them, refused as `(field, text key)`.
pub fn new_account_fields(
    name: &str,
    password: &str,
    repeat: &str,
) -> Result<(PersonName, NewPassword), (&'static str, &'static str)> {
    let name = PersonName::parse(name).map_err(|e| ("name", e.key()))?;
    let password = NewPassword::typed_twice("password", password, repeat)?;
    Ok((name, password))
}
