//! What staff post and parents read (C1), one file per action: the timeline, a post, the
//! new-post form, answers, editing, deleting, reminders and the urgent mail's link. What
//! they share lives in `crate::posts`.

pub mod answer;
pub mod delete;
pub mod edit;
pub mod follow_link;
pub mod new;
pub mod remind;
pub mod show;
pub mod timeline;
