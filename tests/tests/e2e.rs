//! End-to-end tests against a running app, real PostgreSQL and Redis, the real binary and
//! headless Chromium. One test binary, so the workspace links it once.

mod e2e {
    mod absence;
    mod accounts;
    mod albums;
    mod bounces;
    mod browser;
    mod calendar;
    mod care;
    mod cli;
    mod conferences;
    mod confirmations;
    mod demo;
    mod digests;
    mod documents;
    mod downloads;
    mod forgery;
    mod form_mistakes;
    mod form_mistakes_more;
    mod frame;
    mod home;
    mod hosts;
    mod invitations;
    mod isolation;
    mod leave;
    mod limits;
    mod mail;
    mod mail_back;
    mod mailings;
    mod messages;
    mod outages;
    mod page_weight;
    mod pages;
    mod parent_invitations;
    mod parents;
    mod partners;
    mod passwords;
    mod pools;
    mod posts;
    mod privacy;
    mod questionnaires;
    mod reachability;
    mod relations;
    mod roles;
    mod roster;
    mod school_cache;
    mod settings;
    mod special;
    mod switcher;
    mod tasks;
    mod times;
    mod tls;
}
