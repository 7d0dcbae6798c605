//! The school's pages for parents, teachers and admins: the roster and its import, groups,
//! a parent's children and what others may see of them.

pub mod access;
pub mod attachments;
pub mod children_page;
pub mod conversations;
pub mod db;
pub mod details;
pub mod fields;
pub mod files;
pub mod group_view;
pub mod home;
pub mod notify;
pub mod posts;
pub mod privacy;
pub mod questionnaires;
pub mod rich_text;
pub mod roster;
pub mod routes;
pub mod sharing;
pub mod zip;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn;
use axum::routing::{get, post};
use schoolplein_kernel::frame::module_gate;
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppState, Language};

/// The pages of this service, on every school host.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(children_routes())
        .merge(document_routes())
        .merge(photo_routes())
        .merge(group_routes())
        .merge(message_routes())
        .route(
            "/unsubscribe/{token}",
            get(routes::unsubscribe::show).post(routes::unsubscribe::unsubscribe),
        )
        .route("/people/{person_id}/photo", get(routes::photos::show_photo))
        .route("/timeline", get(routes::posts::timeline::timeline))
        .route(
            "/posts",
            post(routes::posts::new::create).layer(DefaultBodyLimit::max(
                attachments::MAX_ATTACHMENTS as usize * attachments::MAX_ATTACHMENT_BYTES
                    + 256 * 1024,
            )),
        )
        .route("/posts/new", get(routes::posts::new::new_post))
        .route("/posts/{post_id}", get(routes::posts::show::show))
        .route(
            "/posts/{post_id}/delete",
            get(routes::posts::delete::confirm_delete).post(routes::posts::delete::delete),
        )
        .route(
            "/posts/{post_id}/edit",
            get(routes::posts::edit::edit_form).post(routes::posts::edit::edit),
        )
        .route(
            "/posts/{post_id}/remind",
            post(routes::posts::remind::remind),
        )
        .route(
            "/posts/{post_id}/answers",
            post(routes::posts::answer::answer),
        )
        .route(
            "/posts/{post_id}/responses",
            post(routes::questionnaires::respond),
        )
        .route(
            "/posts/{post_id}/remind-unanswered",
            post(routes::questionnaires::remind_unanswered),
        )
        .route(
            "/notifications",
            get(routes::notifications::show).post(routes::notifications::save),
        )
        .route(
            "/recipient-lists",
            get(routes::recipient_lists::index).post(routes::recipient_lists::create),
        )
        .route(
            "/recipient-lists/{list_id}/delete",
            post(routes::recipient_lists::delete),
        )
        .route(
            "/posts/{post_id}/attachments",
            post(routes::attachments::upload).layer(DefaultBodyLimit::max(
                attachments::MAX_ATTACHMENT_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/posts/{post_id}/attachments/{attachment_id}",
            get(routes::attachments::download),
        )
        .route(
            "/posts/{post_id}/attachments/{attachment_id}/delete",
            post(routes::attachments::delete),
        )
        .route(
            "/admin/image-consent",
            get(routes::image_consent::show_consent).post(routes::image_consent::save_consent),
        )
        .route("/r/{secret}", get(routes::posts::follow_link::follow_link))
        .route("/partner", get(routes::partner::show))
        .route("/partner/request", post(routes::partner::request))
        .route("/partner/cancel", post(routes::partner::cancel))
        .route("/partner/accept", post(routes::partner::accept))
        .route("/partner/decline", post(routes::partner::decline))
        .route("/partner/joint-use", post(routes::partner::joint_use))
        .route(
            "/partner/share-conversations",
            post(routes::partner::share_conversations),
        )
        .route("/partner/end", post(routes::partner::end))
        .route(
            "/partner/details",
            post(routes::partner::save_partner_details),
        )
        .route(
            "/admin/settings",
            get(routes::settings::show_settings).post(routes::settings::save_settings),
        )
        .route(
            "/admin/settings/digest",
            post(routes::settings::save_digest),
        )
        .route(
            "/admin/settings/contact",
            post(routes::settings::save_contact),
        )
        .route(
            "/admin/groups",
            get(routes::groups_admin::show_groups_admin).post(routes::groups_admin::create_group),
        )
        .route(
            "/admin/import/teachers",
            get(routes::import::show_import_teachers).post(routes::import::invite_import_teachers),
        )
        .route(
            "/admin/invitations",
            get(routes::invitations_admin::show_invitations)
                .post(routes::invitations_admin::send_invitations),
        )
        .route(
            "/admin/groups/move",
            post(routes::groups_admin::move_pupils),
        )
        .route(
            "/admin/groups/{group_id}/teachers",
            post(routes::groups_admin::add_teacher),
        )
        .route(
            "/admin/groups/merge",
            get(routes::groups_admin::confirm_merge).post(routes::groups_admin::merge_group),
        )
        .route(
            "/admin/groups/{group_id}/split",
            post(routes::groups_admin::split_group),
        )
        .route(
            "/admin/groups/{group_id}/teachers/{person_id}/remove",
            post(routes::groups_admin::remove_teacher),
        )
        .route(
            "/admin/parents/{person_id}",
            get(routes::parent_admin::show_parent),
        )
        .route(
            "/admin/parents/{person_id}/details",
            post(routes::parent_admin::save_parent),
        )
        .route(
            "/admin/parents/{person_id}/class-parent",
            post(routes::parent_admin::class_parent),
        )
        .route(
            "/admin/parents/{person_id}/{action}",
            post(routes::parent_admin::change_parent),
        )
        .route(
            "/special-groups",
            get(routes::special::show_special_groups).post(routes::special::create_special_group),
        )
        .route(
            "/special-groups/{id}/join",
            post(routes::special::join_special_group),
        )
        .route(
            "/special-groups/{id}/leave",
            post(routes::special::leave_special_group),
        )
        .route(
            "/special-groups/{id}/list.pdf",
            get(routes::special::special_group_pdf),
        )
        .route(
            "/admin/groups/{group_id}/letters.pdf",
            get(routes::letters::group_letters),
        )
        .route(
            "/admin/import",
            get(routes::import::show_import)
                .post(routes::import::import_roster)
                // The file itself may be this large, plus the form around it; a request that
                // says it is larger is refused before it is read (413).
                .layer(DefaultBodyLimit::max(ROSTER_FORM_BYTES))
                .layer(from_fn(refuse_a_larger_roster)),
        )
}

/// The roster import's file at its largest, plus the form around it.
const ROSTER_FORM_BYTES: usize = roster::MAX_FILE_BYTES + 64 * 1024;

/// A roster import that says it is larger than the import takes is refused (413) before a
/// byte of it is read; one that does not say is cut off at the same size while it is read.
async fn refuse_a_larger_roster(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .and_then(|length| length.parse::<usize>().ok());
    if declared.is_some_and(|length| length > ROSTER_FORM_BYTES) {
        return axum::response::IntoResponse::into_response(http::StatusCode::PAYLOAD_TOO_LARGE);
    }
    next.run(request).await
}

/// A parent's children: details, contacts, medical notes, privacy (module "children").
fn children_routes() -> Router<AppState> {
    Router::new()
        .route("/children", get(routes::children::show_children))
        .route("/children/details", post(routes::children::save_details))
        .route("/children/contacts", post(routes::children::save_contacts))
        .route(
            "/children/photo",
            post(routes::photos::upload_photo).layer(DefaultBodyLimit::max(
                routes::photos::MAX_PHOTO_BYTES + 64 * 1024,
            )),
        )
        .route("/children/photo/remove", post(routes::photos::remove_photo))
        .route(
            "/children/{pupil_id}/medical",
            post(routes::children::save_medical),
        )
        .route(
            "/children/{pupil_id}/primary",
            post(routes::children::make_primary),
        )
        .route(
            "/children/{pupil_id}/privacy",
            post(routes::children::save_privacy),
        )
        .route_layer(from_fn(|r, n| module_gate(Module::Children, r, n)))
}

/// Document folders and their files (module "documents").
fn document_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/documents",
            get(routes::documents::list_folders).post(routes::documents::create_folder),
        )
        .route(
            "/documents/{folder_id}",
            get(routes::documents::show_folder),
        )
        .route(
            "/documents/{folder_id}/delete",
            get(routes::documents::confirm_delete_folder).post(routes::documents::delete_folder),
        )
        .route(
            "/documents/{folder_id}/files",
            post(routes::documents::upload_documents).layer(DefaultBodyLimit::max(
                routes::documents::MAX_DOCUMENT_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/documents/{folder_id}/files/{document_id}",
            get(routes::documents::download_document),
        )
        .route(
            "/documents/{folder_id}/files/{document_id}/delete",
            post(routes::documents::delete_document),
        )
        .route_layer(from_fn(|r, n| module_gate(Module::Documents, r, n)))
}

/// Photo albums (module "photos").
fn photo_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/albums",
            get(routes::albums::list_albums).post(routes::albums::create_album),
        )
        .route("/albums/{album_id}", get(routes::albums::show_album))
        .route(
            "/albums/{album_id}/settings",
            post(routes::albums::save_album_settings),
        )
        .route(
            "/albums/{album_id}/delete",
            get(routes::albums::confirm_delete_album).post(routes::albums::delete_album),
        )
        .route(
            "/albums/{album_id}/download",
            post(routes::albums::download_zip),
        )
        .route(
            "/albums/{album_id}/photos",
            post(routes::albums::upload_photos).layer(DefaultBodyLimit::max(
                routes::albums::MAX_PHOTO_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/albums/{album_id}/photos/{photo_id}",
            get(routes::albums::show_photo),
        )
        .route(
            "/albums/{album_id}/photos/{photo_id}/thumbnail",
            get(routes::albums::show_thumbnail),
        )
        .route(
            "/albums/{album_id}/photos/{photo_id}/original",
            get(routes::albums::download_photo),
        )
        .route(
            "/albums/{album_id}/photos/{photo_id}/tags",
            post(routes::albums::save_tags),
        )
        .route(
            "/albums/{album_id}/photos/{photo_id}/delete",
            post(routes::albums::delete_photo),
        )
        .route_layer(from_fn(|r, n| module_gate(Module::Photos, r, n)))
}

/// The conversations (module "messages").
fn message_routes() -> Router<AppState> {
    use routes::messages;
    Router::new()
        .route(
            "/messages",
            get(messages::folders)
                .post(messages::send)
                .layer(DefaultBodyLimit::max(
                    attachments::MAX_ATTACHMENTS as usize * attachments::MAX_ATTACHMENT_BYTES
                        + 256 * 1024,
                )),
        )
        .route("/messages/new", get(messages::new_message))
        .route("/messages/suggest", get(messages::suggest))
        .route("/messages/settings", get(messages::settings))
        .route("/messages/block", post(messages::block))
        .route("/messages/unblock", post(messages::unblock))
        .route("/messages/drafts/{draft_id}", get(messages::edit_draft))
        .route(
            "/messages/drafts/{draft_id}/delete",
            post(messages::delete_draft),
        )
        .route("/messages/{conversation_id}", get(messages::show))
        .route(
            "/messages/{conversation_id}/archive",
            post(messages::archive),
        )
        .route(
            "/messages/{conversation_id}/files/{file_id}",
            get(messages::file),
        )
        .route_layer(from_fn(|r, n| module_gate(Module::Messages, r, n)))
}

/// The group pages and their lists (module "groups").
fn group_routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(routes::groups::list_groups))
        .route("/groups/{group_id}", get(routes::groups::show_group))
        .route(
            "/groups/{group_id}/address-list.pdf",
            get(routes::lists::address_list),
        )
        .route(
            "/groups/{group_id}/class-list.pdf",
            get(routes::lists::class_list),
        )
        .route("/api/groups/{group_id}", get(routes::groups::group_json))
        .route_layer(from_fn(|r, n| module_gate(Module::Groups, r, n)))
}

/// Every file under this crate's `templates/`, by template name (embedded by `build.rs`).
pub const TEMPLATES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

pub const MESSAGES: &[(Language, &str, &str)] = &[
    (
        Language::Nl,
        "portal/nl.toml",
        include_str!("../locales/nl.toml"),
    ),
    (
        Language::En,
        "portal/en.toml",
        include_str!("../locales/en.toml"),
    ),
];
