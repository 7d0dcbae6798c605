//! Types with rules: e-mail addresses, new passwords, names.

pub mod email;
pub mod password;

pub use email::EmailAddress;
pub use password::NewPassword;
