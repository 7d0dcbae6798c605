//! SQL for the roster and the people of the school's schema.

pub mod albums;
pub mod attachments;
pub mod children;
pub mod documents;
pub mod groups;
pub mod imports;
pub mod invitations;
pub mod parents;
pub mod partners;
pub mod people;
pub mod photos;
pub mod posts;
pub mod preferences;
pub mod pupils;
pub mod questionnaires;
pub mod recipient_lists;
pub mod roster;
pub mod school_profile;
pub mod school_settings;
pub mod special_groups;
pub mod unsubscribe;
