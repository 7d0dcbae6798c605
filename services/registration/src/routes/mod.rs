//! The registration pages: sign-in and out, invitations, passwords, the person's own
//! account and schools.

pub mod account;
pub mod email;
pub mod invitations;
pub mod links;
pub mod parent_invitations;
pub mod parents_admin;
pub mod password;
pub mod people;
pub mod register;
pub mod schools;
pub mod sign_in;

/// A safe place to go after signing in: a path on this host, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && path.len() <= 1000 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_host() {
        assert_eq!(safe_next(Some("/account?x=1")), "/account?x=1");
        for bad in [
            None,
            Some("https://evil.example/"),
            Some("//evil.example/"),
            Some("/\\evil.example"),
            Some("/a\r\nSet-Cookie: x"),
            Some(""),
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
