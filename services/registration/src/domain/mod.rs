//! Types with rules: e-mail addresses, new passwords, names, activation codes.

pub mod code;
pub mod email;
pub mod name;
pub mod password;

pub use code::ActivationCode;
pub use email::EmailAddress;
pub use name::PersonName;
pub use password::NewPassword;
