//! What the post pages share, kept outside `routes` so that every page (and the home page)
//! can use it: a post as pages show it, the timeline's reading and caching, a post as typed
//! and checked, publishing it, and the urgent mail.

pub mod draft;
pub mod form_files;
pub mod publish;
pub mod timeline;
pub mod urgent;
pub mod view;
