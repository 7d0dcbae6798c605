//! The portal's pages.

pub mod albums;
pub mod attachments;
pub mod children;
pub mod documents;
pub mod groups;
pub mod groups_admin;
pub mod image_consent;
pub mod import;
pub mod invitations_admin;
pub mod letters;
pub mod lists;
pub mod messages;
pub mod notifications;
pub mod parent_admin;
pub mod partner;
pub mod photos;
pub mod posts;
pub mod questionnaires;
pub mod recipient_lists;
pub mod settings;
pub mod special;
pub mod unsubscribe;
