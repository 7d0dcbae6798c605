//! Photo albums (C6): albums per group (or, by an admin, for the whole school) that staff fill
//! and parents browse, pick photos in and download as one zip; parents add photos to an album
//! whose staff opened it to them. A photo showing a pupil whose image-use consent is not
//! recorded is seen only by staff and that pupil's own parents.

use std::collections::{BTreeSet, VecDeque};

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use schoolplein_kernel::confirm::{ConfirmKeys, Confirmation};
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::forms::{FormBack, TokenOnly, anchors, value};
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppError, AppState, Member, Pages, Staff, Viewer, Writable};
use serde::Serialize;
use tenant_router::{CurrentTenant, TenantId, TenantTx};
use tokio::sync::Semaphore;

use crate::db::albums::{self, AlbumReader, AlbumRow, PhotoRow, TagChoice, ZipItem};
use crate::fields::optional_text;
use crate::files::{clean_file_name, disposition, sniff_image};
use crate::sharing::{
    self, FileLimits, GroupChoice, file_headers, manageable_groups, may_manage, member, read_upload,
};
use crate::zip::StoredZip;

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Photos one upload form may carry (together within the request's size limit).
const MAX_PHOTOS_PER_UPLOAD: usize = 20;
/// The longest side of a thumbnail, in pixels.
const THUMBNAIL_SIDE: u32 = 320;
/// The largest picture decoded, per side: more than any camera makes, and it bounds the
/// memory a crafted file can ask for.
const MAX_DECODED_SIDE: u32 = 12_000;
/// The most memory one decode may take.
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// Photos in one zip download, and their total size: enough for an album, bounded so one
/// request cannot keep a connection and the database busy for long.
pub const MAX_ZIP_PHOTOS: usize = 200;
pub const MAX_ZIP_BYTES: i64 = 512 * 1024 * 1024;

/// Thumbnails are made on the blocking pool, at most this many at once in the process, so
/// uploads cannot take every core from the pages.
static THUMBNAILING: Semaphore = Semaphore::const_new(2);

/// One album, if the reader sees it; 404 otherwise.
async fn visible_album(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
) -> Result<AlbumRow, AppError> {
    albums::visible_albums(tx, reader, Some(album_id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// An album the viewer may manage (admins; teachers of its group): 404 when they do not see
/// it, 403 when they only see it.
async fn managed_album(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
) -> Result<AlbumRow, AppError> {
    let album = visible_album(tx, reader, album_id).await?;
    if !may_manage(&reader.member, album.group_id) {
        return Err(AppError::Forbidden {
            reason: "portal.sharing.not_yours",
        });
    }
    Ok(album)
}

#[derive(Debug, Serialize)]
struct AlbumsPage<'a> {
    csrf: &'a str,
    albums: Vec<AlbumRow>,
    groups: Vec<GroupChoice>,
    may_create: bool,
    admin: bool,
    label: Option<String>,
    #[serde(flatten)]
    back: FormBack,
}

/// The ids of the forms that come back with their mistakes: a new album, on an album's page
/// the download of a selection, the upload and the album's settings, and on a photo's page
/// whom it shows.
const NEW_ALBUM_FORM: &str = "new-album";
const DOWNLOAD_FORM: &str = "download-photos";
const UPLOAD_FORM: &str = "upload-photos";
const SETTINGS_FORM: &str = "album-settings";
const TAGS_FORM: &str = "tag-pupils";

/// `GET /albums`: the albums the viewer sees, newest first.
pub async fn list_albums(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
) -> Result<Response, AppError> {
    albums_page(&state, &tenant, &pages, csrf, &viewer, FormBack::none()).await
}

/// The albums page, with the form for a new album as sent when `back` holds it (400).
async fn albums_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    back: FormBack,
) -> Result<Response, AppError> {
    let settings = state.settings.get(&state.schools, tenant.id()).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, viewer).await?;
    let albums = albums::visible_albums(&mut tx, &reader, None).await?;
    let may_create = reader.member.may_post();
    let groups = if may_create {
        manageable_groups(&mut tx, &reader.member).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let status = back.status();
    let page = AlbumsPage {
        csrf: csrf.token(),
        albums,
        groups,
        may_create,
        admin: reader.member.admin,
        label: settings.module(Module::Photos).name,
        back,
    };
    pages.show_with(status, "portal/albums.html", &page)
}

/// `POST /albums`: fields `title`, `group_id` (empty: the whole school, admins only) and
/// `parents_may_upload=on` to let the parents who see it add photos. A mistake brings the
/// page back with the form as sent; nothing is written.
pub async fn create_album(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let made = async {
        let title = optional_text("title", value(&form, "title"), 100, false)?
            .ok_or_else(|| AppError::bad_request("title", "portal.albums.title_required"))?;
        let parents_may_upload = switch(
            "parents_may_upload",
            Some(value(&form, "parents_may_upload")),
        )?;
        let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
        let reader = member(&mut tx, &viewer).await?;
        let group =
            sharing::chosen_group(&mut tx, &reader, "group_id", value(&form, "group_id")).await?;
        let album_id =
            albums::create(&mut tx, &title, group, parents_may_upload, viewer.person_id).await?;
        tx.commit().await?;
        Ok::<_, AppError>(album_id)
    };
    match made.await {
        Ok(album_id) => Ok(Redirect::to(&format!("/albums/{album_id}")).into_response()),
        Err(error) => {
            let anchor = anchors(&[
                ("title", "album-title"),
                ("group_id", "album-group"),
                ("parents_may_upload", "album-parents-upload"),
            ]);
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                NEW_ALBUM_FORM,
                &form,
                anchor,
            )?;
            albums_page(&state, &tenant, &pages, csrf, &viewer, back).await
        }
    }
}

/// A checkbox: absent is off, `on` (what browsers send) or `1` is on, anything else is refused.
fn switch(field: &'static str, value: Option<&str>) -> Result<bool, AppError> {
    match value.map(str::trim) {
        None | Some("") => Ok(false),
        Some("on" | "1") => Ok(true),
        Some(_) => Err(AppError::bad_request(field, "portal.albums.bad_switch")),
    }
}

#[derive(Debug, Serialize)]
struct AlbumPage<'a> {
    csrf: &'a str,
    album: AlbumRow,
    photos: Vec<PhotoRow>,
    may_manage: bool,
    may_upload: bool,
    staff: bool,
    max_zip_photos: usize,
    #[serde(flatten)]
    back: FormBack,
}

/// `GET /albums/{album}`: the photos the viewer is shown, to select and download.
pub async fn show_album(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(album_id): Path<i64>,
) -> Result<Response, AppError> {
    album_page(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        album_id,
        FormBack::none(),
    )
    .await
}

/// An album's page, with one of its forms' mistakes when `back` holds one (400).
async fn album_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    album_id: i64,
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, viewer).await?;
    let album = visible_album(&mut tx, &reader, album_id).await?;
    let photos = albums::shown_photos(&mut tx, &reader, album_id).await?;
    tx.commit().await?;
    let may_manage = may_manage(&reader.member, album.group_id);
    let status = back.status();
    let page = AlbumPage {
        csrf: csrf.token(),
        may_upload: may_manage || album.parents_may_upload,
        may_manage,
        album,
        photos,
        staff: reader.staff,
        max_zip_photos: MAX_ZIP_PHOTOS,
        back,
    };
    pages.show_with(status, "portal/album.html", &page)
}

/// `POST /albums/{album}/settings`: whether parents may add photos (`parents_may_upload=on`).
pub async fn save_album_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(album_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let sent = form
        .iter()
        .rfind(|(key, _)| key == "parents_may_upload")
        .map(|(_, value)| value.as_str());
    let parents_may_upload = match switch("parents_may_upload", sent) {
        Ok(on) => on,
        Err(error) => {
            let anchor = |_: &str| "album-parents-may-upload".to_owned();
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                SETTINGS_FORM,
                &form,
                anchor,
            )?;
            return album_page(&state, &tenant, &pages, csrf, &viewer, album_id, back).await;
        }
    };
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    managed_album(&mut tx, &reader, album_id).await?;
    albums::set_parents_may_upload(&mut tx, album_id, parents_may_upload).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{album_id}")).into_response())
}

/// `GET /albums/{album}/delete`: asks first, naming how many photos go with the album.
pub async fn confirm_delete_album(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path(album_id): Path<i64>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    let album = managed_album(&mut tx, &reader, album_id).await?;
    tx.commit().await?;
    Confirmation::new(
        &state,
        pages.language(),
        "delete-album",
        ConfirmKeys {
            title: "portal.albums.delete_title",
            button: "portal.albums.delete_album",
            note: None,
        },
        album.title,
        format!("/albums/{album_id}/delete"),
        format!("/albums/{album_id}"),
    )
    .loses_count(&state, album.photos, "portal.albums.count")
    .respond(&state, csrf)
}

/// `POST /albums/{album}/delete`: the album with its photos, by staff who may manage it.
pub async fn delete_album(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path(album_id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    managed_album(&mut tx, &reader, album_id).await?;
    albums::delete(&mut tx, album_id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/albums").into_response())
}

/// Whether the viewer may add photos to the album: staff who manage it, and anyone who sees
/// it once its staff let parents add photos.
async fn may_add_photos(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
) -> Result<(), AppError> {
    let album = visible_album(tx, reader, album_id).await?;
    if album.parents_may_upload || may_manage(&reader.member, album.group_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            reason: "portal.albums.no_parent_uploads",
        })
    }
}

/// A JPEG thumbnail of at most `THUMBNAIL_SIDE` pixels a side, turned upright as the camera
/// recorded; `None` when the bytes do not decode as a picture within the limits.
fn make_thumbnail(bytes: &[u8]) -> Option<Vec<u8>> {
    use image::ImageDecoder as _;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder.orientation().ok()?;
    let mut picture = image::DynamicImage::from_decoder(decoder).ok()?;
    picture.apply_orientation(orientation);
    let thumbnail = picture
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&thumbnail)
        .ok()?;
    Some(out)
}

/// Makes the thumbnail off the async runtime (decoding is CPU work), bounded in the process,
/// inside the request's span.
async fn thumbnail_of(bytes: std::sync::Arc<Vec<u8>>) -> Result<Option<Vec<u8>>, AppError> {
    let _permit = THUMBNAILING
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("thumbnail pool closed: {e}")))?;
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(|| make_thumbnail(&bytes)))
        .await
        .map_err(|e| AppError::Internal(format!("thumbnail task: {e}")))
}

/// `POST /albums/{album}/photos` (multipart: `csrf` first, then one or more `file`): JPEG
/// and PNG photos, each with its thumbnail; all of them are kept, or none. A file refused
/// (not a photo, too large) brings the album's page back with the reason at the file field.
pub async fn upload_photos(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    (csrf, csrf_check): (Csrf, CsrfToken),
    viewer: Writable<Member>,
    Path(album_id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    // Refuse early whoever may not add here, before reading and decoding anything.
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    may_add_photos(&mut tx, &reader, album_id).await?;
    tx.commit().await?;
    match store_photos(
        &state,
        &tenant,
        &viewer,
        &reader,
        &csrf_check,
        album_id,
        multipart,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/albums/{album_id}")).into_response()),
        Err(error) => {
            // A browser cannot be given a chosen file back; the form holds nothing else.
            let anchor = |_: &str| "file".to_owned();
            let back = FormBack::of(&state, pages.language(), error, UPLOAD_FORM, &[], anchor)?;
            album_page(&state, &tenant, &pages, csrf, &viewer, album_id, back).await
        }
    }
}

async fn store_photos(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    reader: &AlbumReader,
    csrf: &CsrfToken,
    album_id: i64,
    multipart: Multipart,
) -> Result<(), AppError> {
    let form = read_upload(
        multipart,
        csrf,
        FileLimits {
            field: "file",
            max_bytes: MAX_PHOTO_BYTES,
            max_files: MAX_PHOTOS_PER_UPLOAD,
            messages: "portal.albums",
        },
    )
    .await?;
    let mut photos = Vec::with_capacity(form.files.len());
    for (name, bytes) in form.files {
        let content_type = sniff_image(&bytes)
            .ok_or_else(|| AppError::bad_request("file", "portal.albums.not_a_photo"))?;
        let bytes = std::sync::Arc::new(bytes);
        let thumbnail = thumbnail_of(bytes.clone())
            .await?
            .ok_or_else(|| AppError::bad_request("file", "portal.albums.not_a_photo"))?;
        photos.push((name, content_type, bytes, thumbnail));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // Again, inside the transaction that writes: the album may have gone meanwhile.
    may_add_photos(&mut tx, reader, album_id).await?;
    for (name, content_type, bytes, thumbnail) in &photos {
        albums::insert_photo(
            &mut tx,
            album_id,
            name,
            content_type,
            bytes.as_slice(),
            thumbnail,
            viewer.person_id,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One photo's thumbnail or original, if the reader is shown it.
async fn shown_photo_bytes(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    album_id: i64,
    photo_id: i64,
    column: &'static str,
) -> Result<(String, String, Vec<u8>), AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, viewer).await?;
    let photo = albums::shown_photo(&mut tx, &reader, album_id, photo_id, column).await?;
    tx.commit().await?;
    photo.ok_or(AppError::NotFound)
}

/// `GET /albums/{album}/photos/{photo}/thumbnail`: always a JPEG.
pub async fn show_thumbnail(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path((album_id, photo_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (_, _, thumbnail) =
        shown_photo_bytes(&state, &tenant, &viewer, album_id, photo_id, "thumbnail").await?;
    Ok((file_headers("image/jpeg", "inline".to_owned()), thumbnail).into_response())
}

/// `GET /albums/{album}/photos/{photo}/original`: the photo as uploaded, as a download (an
/// `<img>` shows it all the same).
pub async fn download_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Member,
    Path((album_id, photo_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (name, content_type, bytes) =
        shown_photo_bytes(&state, &tenant, &viewer, album_id, photo_id, "bytes").await?;
    Ok((file_headers(&content_type, disposition(&name)), bytes).into_response())
}

#[derive(Debug, Serialize)]
struct PhotoPage<'a> {
    csrf: &'a str,
    album: AlbumRow,
    photo_id: i64,
    file_name: String,
    may_manage: bool,
    pupils: Vec<TagChoice>,
    #[serde(flatten)]
    back: FormBack,
}

/// `GET /albums/{album}/photos/{photo}`: the photo; for staff who manage the album, whom it
/// shows.
pub async fn show_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path((album_id, photo_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let photo = (album_id, photo_id);
    photo_page(
        &state,
        &tenant,
        &pages,
        csrf,
        &viewer,
        photo,
        FormBack::none(),
    )
    .await
}

/// A photo's page, with the form for whom it shows as sent when `back` holds it (400).
async fn photo_page(
    state: &AppState,
    tenant: &CurrentTenant,
    pages: &Pages,
    csrf: Csrf,
    viewer: &Viewer,
    (album_id, photo_id): (i64, i64),
    back: FormBack,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, viewer).await?;
    let album = visible_album(&mut tx, &reader, album_id).await?;
    let file_name = albums::shown_file_name(&mut tx, &reader, album_id, photo_id).await?;
    let (file_name,) = file_name.ok_or(AppError::NotFound)?;
    let may_manage = may_manage(&reader.member, album.group_id);
    // The album's group's pupils (every pupil for a school album), and whoever is tagged.
    let pupils: Vec<TagChoice> = if may_manage {
        albums::tag_choices(&mut tx, album.group_id, photo_id).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let status = back.status();
    let page = PhotoPage {
        csrf: csrf.token(),
        album,
        photo_id,
        file_name,
        may_manage,
        pupils,
        back,
    };
    pages.show_with(status, "portal/photo.html", &page)
}

/// The ids in a form's repeated `field`; anything but a number is refused naming the field.
fn ids(form: &[(String, String)], field: &'static str) -> Result<BTreeSet<i64>, AppError> {
    form.iter()
        .filter(|(key, _)| key == field)
        .map(|(_, value)| {
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::bad_request(field, "portal.albums.bad_id"))
        })
        .collect()
}

/// `POST /albums/{album}/photos/{photo}/tags`: one `pupils` per pupil the photo shows
/// (pupils at school, or tagged on it before they left); replaces the photo's tags. Staff who manage the album. A mistake (a
/// value that is no pupil at school) brings the photo's page back with the boxes as ticked;
/// nothing is written.
pub async fn save_tags(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Writable<Staff>,
    Path((album_id, photo_id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let saved = async {
        // Refuse whoever may not tag here first: a mistake in what was ticked shows at the
        // tagging form, which only staff who manage the album see.
        let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
        let reader = AlbumReader::load(&mut tx, &viewer).await?;
        managed_album(&mut tx, &reader, album_id).await?;
        let photo = albums::lock_photo(&mut tx, album_id, photo_id).await?;
        photo.ok_or(AppError::NotFound)?;
        // Nobody types these numbers: one that is no number is as unknown as a pupil gone.
        let unknown = || AppError::bad_request("pupils", "portal.albums.unknown_pupil");
        let pupils: Vec<i64> = ids(&form, "pupils")
            .map_err(|_| unknown())?
            .into_iter()
            .collect();
        let known = albums::count_taggable(&mut tx, photo_id, &pupils).await?;
        if known != pupils.len() as i64 {
            return Err(unknown());
        }
        albums::replace_tags(&mut tx, photo_id, &pupils).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    };
    match saved.await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/albums/{album_id}/photos/{photo_id}")).into_response())
        }
        Err(error) => {
            let anchor = |_: &str| "photo-pupils".to_owned();
            let back = FormBack::of(&state, pages.language(), error, TAGS_FORM, &form, anchor)?;
            let photo = (album_id, photo_id);
            photo_page(&state, &tenant, &pages, csrf, &viewer, photo, back).await
        }
    }
}

/// `POST /albums/{album}/photos/{photo}/delete`, by staff who manage the album.
pub async fn delete_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Writable<Staff>,
    Path((album_id, photo_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    managed_album(&mut tx, &reader, album_id).await?;
    if !albums::delete_photo(&mut tx, album_id, photo_id).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{album_id}")).into_response())
}

/// `POST /albums/{album}/download`: one `photos` per selected photo; the selected photos the
/// viewer is shown, as one zip, sent as it is written (one photo in memory at a time). At
/// most `MAX_ZIP_PHOTOS` photos and `MAX_ZIP_BYTES` in all.
pub async fn download_zip(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    pages: Pages,
    csrf: Csrf,
    viewer: Member,
    Path(album_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    match zip_of_selection(&state, &tenant, &viewer, album_id, &form).await {
        Err(error) => {
            let anchor = |_: &str| "photos".to_owned();
            let back = FormBack::of(
                &state,
                pages.language(),
                error,
                DOWNLOAD_FORM,
                &form,
                anchor,
            )?;
            album_page(&state, &tenant, &pages, csrf, &viewer, album_id, back).await
        }
        zip => zip,
    }
}

/// The zip of the photos chosen in `form`, or a 400 naming `photos`.
async fn zip_of_selection(
    state: &AppState,
    tenant: &CurrentTenant,
    viewer: &Viewer,
    album_id: i64,
    form: &[(String, String)],
) -> Result<Response, AppError> {
    let chosen: Vec<i64> = ids(form, "photos")?.into_iter().collect();
    if chosen.is_empty() {
        return Err(AppError::bad_request(
            "photos",
            "portal.albums.none_selected",
        ));
    }
    if chosen.len() > MAX_ZIP_PHOTOS {
        return Err(AppError::bad_request(
            "photos",
            "portal.albums.too_many_selected",
        ));
    }
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, viewer).await?;
    let album = visible_album(&mut tx, &reader, album_id).await?;
    let items = albums::zip_items(&mut tx, &reader, album_id, &chosen).await?;
    tx.commit().await?;
    // A selection of nothing the viewer is shown is as if the photos did not exist.
    if items.is_empty() {
        return Err(AppError::NotFound);
    }
    if items.iter().map(|i| i64::from(i.size)).sum::<i64>() > MAX_ZIP_BYTES {
        return Err(AppError::bad_request(
            "photos",
            "portal.albums.selection_too_large",
        ));
    }
    let body =
        schoolplein_kernel::body::streamed(zip_stream(state.clone(), tenant.id(), album_id, items));
    let name = disposition(&format!("{}.zip", clean_file_name(&album.title)));
    Ok((file_headers("application/zip", name), body).into_response())
}

/// The zip of `items`, entry by entry: each photo read in a short transaction of its own, so
/// a slow download holds no connection; a photo deleted meanwhile is left out.
fn zip_stream(
    state: AppState,
    tenant: TenantId,
    album_id: i64,
    items: Vec<ZipItem>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    struct Progress {
        state: AppState,
        tenant: TenantId,
        album_id: i64,
        items: VecDeque<ZipItem>,
        zip: Option<StoredZip>,
    }
    let progress = Progress {
        state,
        tenant,
        album_id,
        items: items.into(),
        zip: Some(StoredZip::new()),
    };
    futures_util::stream::unfold(progress, |mut progress| async move {
        // Nothing follows the end of the archive or a failure.
        progress.zip.as_ref()?;
        let failed = |error: String| {
            tracing::error!(%error, "zip download failed");
            std::io::Error::other("zip download failed")
        };
        while let Some(item) = progress.items.pop_front() {
            let read = albums::read_photo(
                &progress.state.schools,
                progress.tenant,
                progress.album_id,
                item.id,
            );
            let bytes = match read.await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => continue,
                Err(error) => {
                    progress.zip = None;
                    return Some((Err(failed(error.to_string())), progress));
                }
            };
            let name = format!("{}-{}", item.id, item.file_name);
            let entry = progress.zip.as_mut()?.entry(&name, &bytes, item.created_at);
            return match entry {
                Ok(chunk) => Some((Ok(Bytes::from(chunk)), progress)),
                Err(error) => {
                    progress.zip = None;
                    Some((Err(failed(error.to_string())), progress))
                }
            };
        }
        let end = progress.zip.take()?.finish();
        match end {
            Ok(end) => Some((Ok(Bytes::from(end)), progress)),
            Err(error) => Some((Err(failed(error.to_string())), progress)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn thumbnails_are_small_jpegs_of_real_pictures_only() {
        for format in [image::ImageFormat::Jpeg, image::ImageFormat::Png] {
            let thumbnail = make_thumbnail(&encoded(format, 1200, 600)).expect("a thumbnail");
            let small = image::load_from_memory(&thumbnail).unwrap();
            assert_eq!((small.width(), small.height()), (320, 160), "{format:?}");
            assert_eq!(crate::files::sniff_image(&thumbnail), Some("image/jpeg"));
        }
        // The right first bytes, then nothing a decoder accepts.
        assert_eq!(
            make_thumbnail(b"\xFF\xD8\xFF\xE0 not a picture at all"),
            None
        );
        assert_eq!(make_thumbnail(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), None);
    }

    #[test]
    fn switches_are_on_off_or_refused() {
        assert!(!switch("x", None).unwrap());
        assert!(switch("x", Some("on")).unwrap());
        assert!(switch("x", Some("ja")).is_err());
    }
}
