//! Types with rules: e-mail addresses, new passwords, names.

pub mod email;
pub mod name;
pub mod password;

pub use email::EmailAddress;
pub use name::PersonName;
pub use password::NewPassword;
