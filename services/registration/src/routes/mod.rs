//! The registration pages: sign-in and out, invitations, passwords, the person's own
//! account and schools.

pub mod account;
pub mod email;
pub mod invitations;
pub mod parent_invitations;
pub mod parents_admin;
pub mod password;
pub mod people;
pub mod register;
pub mod schools;
pub mod sign_in;
