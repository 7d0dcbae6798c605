//! Photo albums (C6): albums per group (or, by an admin, for the whole school) that staff fill
//! and parents browse, select from and download as one zip; parents add photos to an album
//! whose staff opened it to them. A photo showing a pupil whose image-use consent is not
//! recorded is seen only by staff and that pupil's own parents.

use std::collections::{BTreeSet, VecDeque};

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use schoolplein_kernel::audience::PostReader;
use schoolplein_kernel::confirm::{ConfirmKeys, Confirmation};
use schoolplein_kernel::csrf::{Csrf, CsrfForm, CsrfToken};
use schoolplein_kernel::settings::Module;
use schoolplein_kernel::{AppError, AppState, Lang, Role, Viewer};
use schoolplein_registration::routes::sign_in::EmptyForm;
use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;
use tenant_router::{CurrentTenant, TenantId, TenantTx};
use tokio::sync::Semaphore;

use crate::fields::optional_text;
use crate::routes::attachments::disposition;
use crate::sharing::{
    self, FileLimits, GroupChoice, file_headers, manageable_groups, may_manage, member,
    module_open, read_upload, sees_group_item,
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

/// The condition for the album `al` being seen by the reader in `$1`–`$3`.
fn sees_album() -> String {
    sees_group_item("al")
}

/// The condition for the photo `ph` being shown to the reader in `$1` with staff in `$4`:
/// staff see every photo; others not one showing a pupil without recorded consent, unless
/// the reader is a parent of every such pupil on it.
const PHOTO_SHOWN: &str = "($4 OR NOT EXISTS (
        SELECT 1 FROM photo_tags t JOIN pupils p ON p.id = t.pupil_id
         WHERE t.photo_id = ph.id AND NOT p.image_consent
           AND NOT EXISTS (SELECT 1 FROM guardians g
                            WHERE g.pupil_id = p.id AND g.person_id = $1
                              AND g.status = 'active')))";

/// A reader of albums: who they are to groups, and whether they are staff.
struct AlbumReader {
    member: PostReader,
    staff: bool,
}

impl AlbumReader {
    async fn load(tx: &mut TenantTx, viewer: &Viewer) -> Result<Self, sqlx::Error> {
        Ok(Self {
            member: member(tx, viewer).await?,
            staff: viewer.is_staff(),
        })
    }

    /// Binds `$1`–`$4` of the conditions above.
    fn bind<'q, O>(
        &'q self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(self.member.person_id)
            .bind(self.member.admin)
            .bind(&self.member.groups)
            .bind(self.staff)
    }
}

/// An album as pages show it.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct AlbumRow {
    id: i64,
    title: String,
    group_id: Option<i64>,
    group_name: Option<String>,
    parents_may_upload: bool,
    /// Photos the reader is shown.
    photos: i64,
    /// The first of them, for the list's picture.
    cover: Option<i64>,
    created_at: DateTime<Utc>,
}

/// The albums the reader sees, `$5` one album or all, newest first.
fn albums_sql() -> String {
    format!(
        "SELECT al.id, al.title, al.group_id, g.name AS group_name, al.parents_may_upload,
                (SELECT count(*) FROM photos ph WHERE ph.album_id = al.id AND {PHOTO_SHOWN})
                    AS photos,
                (SELECT min(ph.id) FROM photos ph WHERE ph.album_id = al.id AND {PHOTO_SHOWN})
                    AS cover,
                al.created_at
           FROM albums al LEFT JOIN groups g ON g.id = al.group_id
          WHERE {} AND ($5::bigint IS NULL OR al.id = $5)
          ORDER BY al.created_at DESC, al.id DESC",
        sees_album()
    )
}

async fn visible_albums(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    only: Option<i64>,
) -> Result<Vec<AlbumRow>, sqlx::Error> {
    let sql = albums_sql();
    reader
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .bind(only)
        .fetch_all(&mut **tx)
        .await
}

/// One album, if the reader sees it; 404 otherwise.
async fn visible_album(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
) -> Result<AlbumRow, AppError> {
    visible_albums(tx, reader, Some(album_id))
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
}

/// `GET /albums`: the albums the viewer sees, newest first.
pub async fn list_albums(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let settings = module_open(&state, &tenant, &viewer, Module::Photos).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    let albums = visible_albums(&mut tx, &reader, None).await?;
    let may_create = reader.member.may_post();
    let groups = if may_create {
        manageable_groups(&mut tx, &reader.member).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let page = AlbumsPage {
        csrf: csrf.token(),
        albums,
        groups,
        may_create,
        admin: reader.member.admin,
        label: settings.module(Module::Photos).name,
    };
    let html = Html(state.templates.render("portal/albums.html", lang, &page)?);
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct NewAlbumForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    parents_may_upload: Option<String>,
}

/// `POST /albums`: fields `title`, `group_id` (empty: the whole school, admins only) and
/// `parents_may_upload=on` to let the parents who see it add photos.
pub async fn create_album(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<NewAlbumForm>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let title = optional_text("title", &form.title, 100, false)?
        .ok_or_else(|| AppError::bad_request("title", "portal.albums.title_required"))?;
    let parents_may_upload = switch("parents_may_upload", form.parents_may_upload.as_deref())?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = member(&mut tx, &viewer).await?;
    let group = sharing::chosen_group(&mut tx, &reader, "group_id", &form.group_id).await?;
    let album_id: i64 = sqlx::query_scalar(
        "INSERT INTO albums (title, group_id, parents_may_upload, created_by)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&title)
    .bind(group)
    .bind(parents_may_upload)
    .bind(viewer.person_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{album_id}")).into_response())
}

/// A checkbox: absent is off, `on` (what browsers send) or `1` is on, anything else is refused.
fn switch(field: &'static str, value: Option<&str>) -> Result<bool, AppError> {
    match value.map(str::trim) {
        None | Some("") => Ok(false),
        Some("on" | "1") => Ok(true),
        Some(_) => Err(AppError::bad_request(field, "portal.albums.bad_switch")),
    }
}

/// A photo as the album page lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct PhotoRow {
    id: i64,
    file_name: String,
    created_at: DateTime<Utc>,
    /// Whom it shows: for staff only (parents are not told which children are on a photo).
    tagged: Vec<String>,
    /// For staff: it is hidden from other parents for want of consent.
    hidden: bool,
}

/// The photos of album `$5` the reader is shown, oldest first.
fn photos_sql() -> String {
    format!(
        "SELECT ph.id, ph.file_name, ph.created_at,
                CASE WHEN $4 THEN ARRAY(SELECT concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name)
                                          FROM photo_tags t JOIN pupils p ON p.id = t.pupil_id
                                         WHERE t.photo_id = ph.id ORDER BY p.first_name)
                     ELSE '{{}}'::text[] END AS tagged,
                EXISTS (SELECT 1 FROM photo_tags t JOIN pupils p ON p.id = t.pupil_id
                         WHERE t.photo_id = ph.id AND NOT p.image_consent) AS hidden
           FROM photos ph JOIN albums al ON al.id = ph.album_id
          WHERE ph.album_id = $5 AND {} AND {PHOTO_SHOWN}
          ORDER BY ph.id",
        sees_album()
    )
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
}

/// `GET /albums/{album}`: the photos the viewer is shown, to select and download.
pub async fn show_album(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Path(album_id): Path<i64>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    let album = visible_album(&mut tx, &reader, album_id).await?;
    let photos: Vec<PhotoRow> = reader
        .bind(sqlx::query_as(AssertSqlSafe(photos_sql())))
        .bind(album_id)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let may_manage = may_manage(&reader.member, album.group_id);
    let page = AlbumPage {
        csrf: csrf.token(),
        may_upload: may_manage || album.parents_may_upload,
        may_manage,
        album,
        photos,
        staff: reader.staff,
        max_zip_photos: MAX_ZIP_PHOTOS,
    };
    let html = Html(state.templates.render("portal/album.html", lang, &page)?);
    Ok((csrf, html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct AlbumSettingsForm {
    #[serde(default)]
    parents_may_upload: Option<String>,
}

/// `POST /albums/{album}/settings`: whether parents may add photos (`parents_may_upload=on`).
pub async fn save_album_settings(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(album_id): Path<i64>,
    CsrfForm(form): CsrfForm<AlbumSettingsForm>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let parents_may_upload = switch("parents_may_upload", form.parents_may_upload.as_deref())?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    managed_album(&mut tx, &reader, album_id).await?;
    sqlx::query("UPDATE albums SET parents_may_upload = $2 WHERE id = $1")
        .bind(album_id)
        .bind(parents_may_upload)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{album_id}")).into_response())
}

/// `GET /albums/{album}/delete`: asks first, naming how many photos go with the album.
pub async fn confirm_delete_album(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Path(album_id): Path<i64>,
) -> Result<Response, AppError> {
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    let album = managed_album(&mut tx, &reader, album_id).await?;
    tx.commit().await?;
    Confirmation::new(
        &state,
        lang,
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
    viewer: Viewer,
    Path(album_id): Path<i64>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    managed_album(&mut tx, &reader, album_id).await?;
    sqlx::query("DELETE FROM albums WHERE id = $1")
        .bind(album_id)
        .execute(&mut *tx)
        .await?;
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
/// and PNG photos, each with its thumbnail; all of them are kept, or none.
pub async fn upload_photos(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    csrf: CsrfToken,
    Path(album_id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    viewer.require_writable()?;
    // Refuse early whoever may not add here, before reading and decoding anything.
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    may_add_photos(&mut tx, &reader, album_id).await?;
    tx.commit().await?;
    let form = read_upload(
        multipart,
        &csrf,
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
        let content_type = crate::routes::photos::sniff(&bytes)
            .ok_or_else(|| AppError::bad_request("file", "portal.albums.not_a_photo"))?;
        let bytes = std::sync::Arc::new(bytes);
        let thumbnail = thumbnail_of(bytes.clone())
            .await?
            .ok_or_else(|| AppError::bad_request("file", "portal.albums.not_a_photo"))?;
        photos.push((name, content_type, bytes, thumbnail));
    }
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    // Again, inside the transaction that writes: the album may have gone meanwhile.
    may_add_photos(&mut tx, &reader, album_id).await?;
    for (name, content_type, bytes, thumbnail) in &photos {
        sqlx::query(
            "INSERT INTO photos (album_id, file_name, content_type, bytes, thumbnail, uploaded_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(album_id)
        .bind(name)
        .bind(content_type)
        .bind(bytes.as_slice())
        .bind(thumbnail)
        .bind(viewer.person_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{album_id}")).into_response())
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
    module_open(state, tenant, viewer, Module::Photos).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, viewer).await?;
    let sql = format!(
        "SELECT ph.file_name, ph.content_type, ph.{column}
           FROM photos ph JOIN albums al ON al.id = ph.album_id
          WHERE al.id = $5 AND ph.id = $6 AND {} AND {PHOTO_SHOWN}",
        sees_album()
    );
    let photo: Option<(String, String, Vec<u8>)> = reader
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .bind(album_id)
        .bind(photo_id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    photo.ok_or(AppError::NotFound)
}

/// `GET /albums/{album}/photos/{photo}/thumbnail`: always a JPEG.
pub async fn show_thumbnail(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
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
    viewer: Viewer,
    Path((album_id, photo_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (name, content_type, bytes) =
        shown_photo_bytes(&state, &tenant, &viewer, album_id, photo_id, "bytes").await?;
    Ok((file_headers(&content_type, disposition(&name)), bytes).into_response())
}

/// A pupil as the tagging form offers them.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct TagChoice {
    id: i64,
    name: String,
    group_name: Option<String>,
    image_consent: bool,
    tagged: bool,
}

#[derive(Debug, Serialize)]
struct PhotoPage<'a> {
    csrf: &'a str,
    album: AlbumRow,
    photo_id: i64,
    file_name: String,
    may_manage: bool,
    pupils: Vec<TagChoice>,
}

/// `GET /albums/{album}/photos/{photo}`: the photo; for staff who manage the album, whom it
/// shows.
pub async fn show_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    Lang(lang): Lang,
    csrf: Csrf,
    viewer: Viewer,
    Path((album_id, photo_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    let album = visible_album(&mut tx, &reader, album_id).await?;
    let sql = format!(
        "SELECT ph.file_name FROM photos ph JOIN albums al ON al.id = ph.album_id
          WHERE ph.album_id = $5 AND ph.id = $6 AND {} AND {PHOTO_SHOWN}",
        sees_album()
    );
    let file_name: Option<(String,)> = reader
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .bind(album_id)
        .bind(photo_id)
        .fetch_optional(&mut *tx)
        .await?;
    let (file_name,) = file_name.ok_or(AppError::NotFound)?;
    let may_manage = may_manage(&reader.member, album.group_id);
    // The album's group's pupils (every pupil for a school album), and whoever is tagged.
    let pupils: Vec<TagChoice> = if may_manage {
        sqlx::query_as(
            "SELECT p.id, concat_ws(' ', p.first_name, nullif(p.name_prefix, ''), p.last_name) AS name, g.name AS group_name,
                    p.image_consent,
                    EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = $2 AND t.pupil_id = p.id)
                        AS tagged
               FROM pupils p LEFT JOIN groups g ON g.id = p.group_id
              WHERE (p.left_at IS NULL AND ($1::bigint IS NULL OR p.group_id = $1))
                 OR EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = $2 AND t.pupil_id = p.id)
              ORDER BY g.year NULLS LAST, g.name, p.first_name, p.last_name, p.id",
        )
        .bind(album.group_id)
        .bind(photo_id)
        .fetch_all(&mut *tx)
        .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let page = PhotoPage {
        csrf: csrf.token(),
        album,
        photo_id,
        file_name,
        may_manage,
        pupils,
    };
    let html = Html(state.templates.render("portal/photo.html", lang, &page)?);
    Ok((csrf, html).into_response())
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
/// (pupils at school); replaces the photo's tags. Staff who manage the album.
pub async fn save_tags(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path((album_id, photo_id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let pupils: Vec<i64> = ids(&form, "pupils")?.into_iter().collect();
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    managed_album(&mut tx, &reader, album_id).await?;
    let photo: Option<i64> =
        sqlx::query_scalar("SELECT id FROM photos WHERE id = $1 AND album_id = $2 FOR UPDATE")
            .bind(photo_id)
            .bind(album_id)
            .fetch_optional(&mut *tx)
            .await?;
    photo.ok_or(AppError::NotFound)?;
    let known: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pupils WHERE id = ANY($1) AND left_at IS NULL")
            .bind(&pupils)
            .fetch_one(&mut *tx)
            .await?;
    if known != pupils.len() as i64 {
        return Err(AppError::bad_request(
            "pupils",
            "portal.albums.unknown_pupil",
        ));
    }
    sqlx::query("DELETE FROM photo_tags WHERE photo_id = $1")
        .bind(photo_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO photo_tags (photo_id, pupil_id) SELECT $1, unnest($2::bigint[])")
        .bind(photo_id)
        .bind(&pupils)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{album_id}/photos/{photo_id}")).into_response())
}

/// `POST /albums/{album}/photos/{photo}/delete`, by staff who manage the album.
pub async fn delete_photo(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path((album_id, photo_id)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    viewer.require_any(&[Role::SchoolAdmin, Role::Teacher])?;
    viewer.require_writable()?;
    let mut tx = TenantTx::begin(&state.schools, tenant.id()).await?;
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    managed_album(&mut tx, &reader, album_id).await?;
    let removed = sqlx::query("DELETE FROM photos WHERE id = $1 AND album_id = $2")
        .bind(photo_id)
        .bind(album_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/albums/{album_id}")).into_response())
}

/// A photo chosen for a zip download.
#[derive(Debug, sqlx::FromRow)]
struct ZipItem {
    id: i64,
    file_name: String,
    created_at: DateTime<Utc>,
    size: i32,
}

/// `POST /albums/{album}/download`: one `photos` per selected photo; the selected photos the
/// viewer is shown, as one zip, sent as it is written (one photo in memory at a time). At
/// most `MAX_ZIP_PHOTOS` photos and `MAX_ZIP_BYTES` in all.
pub async fn download_zip(
    State(state): State<AppState>,
    tenant: CurrentTenant,
    viewer: Viewer,
    Path(album_id): Path<i64>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    module_open(&state, &tenant, &viewer, Module::Photos).await?;
    let chosen: Vec<i64> = ids(&form, "photos")?.into_iter().collect();
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
    let reader = AlbumReader::load(&mut tx, &viewer).await?;
    let album = visible_album(&mut tx, &reader, album_id).await?;
    let sql = format!(
        "SELECT ph.id, ph.file_name, ph.created_at, length(ph.bytes) AS size
           FROM photos ph JOIN albums al ON al.id = ph.album_id
          WHERE ph.album_id = $5 AND ph.id = ANY($6) AND {} AND {PHOTO_SHOWN}
          ORDER BY ph.id",
        sees_album()
    );
    let items: Vec<ZipItem> = reader
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .bind(album_id)
        .bind(&chosen)
        .fetch_all(&mut *tx)
        .await?;
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
    let body = schoolplein_kernel::body::streamed(zip_stream(state, tenant.id(), album_id, items));
    let name = disposition(&format!(
        "{}.zip",
        crate::routes::attachments::clean_file_name(&album.title)
    ));
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
            let read = read_photo(&progress.state, progress.tenant, progress.album_id, item.id);
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

/// A photo's bytes, if it is still in the album.
async fn read_photo(
    state: &AppState,
    tenant: TenantId,
    album_id: i64,
    photo_id: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let mut tx = TenantTx::begin_read_only(&state.schools, tenant).await?;
    let bytes = sqlx::query_scalar("SELECT bytes FROM photos WHERE id = $1 AND album_id = $2")
        .bind(photo_id)
        .bind(album_id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(bytes)
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
            assert_eq!(crate::routes::photos::sniff(&thumbnail), Some("image/jpeg"));
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
