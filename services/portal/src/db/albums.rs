//! Photo albums: the albums and photos a reader is shown (never a photo of a pupil without
//! recorded consent, unless they are that pupil's parent, or staff), and their tags.

use chrono::{DateTime, Utc};
use schoolplein_kernel::Viewer;
use schoolplein_kernel::audience::PostReader;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tenant_router::TenantTx;

use crate::sharing::{member, sees_group_item};

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
#[derive(Debug)]
pub struct AlbumReader {
    pub member: PostReader,
    pub staff: bool,
}

impl AlbumReader {
    pub async fn load(tx: &mut TenantTx, viewer: &Viewer) -> Result<Self, sqlx::Error> {
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
pub struct AlbumRow {
    pub id: i64,
    pub title: String,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    pub parents_may_upload: bool,
    /// Photos the reader is shown.
    pub photos: i64,
    /// The first of them, for the list's picture.
    pub cover: Option<i64>,
    pub created_at: DateTime<Utc>,
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

/// The albums the reader sees, or only album `only` if they see it, newest first.
pub async fn visible_albums(
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

/// Makes an album (for a group, or the whole school); its id.
pub async fn create(
    tx: &mut TenantTx,
    title: &str,
    group_id: Option<i64>,
    parents_may_upload: bool,
    by: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO albums (title, group_id, parents_may_upload, created_by)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(title)
    .bind(group_id)
    .bind(parents_may_upload)
    .bind(by)
    .fetch_one(&mut **tx)
    .await
}

pub async fn set_parents_may_upload(
    tx: &mut TenantTx,
    album_id: i64,
    parents_may_upload: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE albums SET parents_may_upload = $2 WHERE id = $1")
        .bind(album_id)
        .bind(parents_may_upload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes an album with its photos.
pub async fn delete(tx: &mut TenantTx, album_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM albums WHERE id = $1")
        .bind(album_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A photo as the album page lists it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PhotoRow {
    pub id: i64,
    pub file_name: String,
    pub created_at: DateTime<Utc>,
    /// Whom it shows: for staff only (parents are not told which children are on a photo).
    pub tagged: Vec<String>,
    /// For staff: it is hidden from other parents for want of consent.
    pub hidden: bool,
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

/// The photos of the album the reader is shown, oldest first.
pub async fn shown_photos(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
) -> Result<Vec<PhotoRow>, sqlx::Error> {
    reader
        .bind(sqlx::query_as(AssertSqlSafe(photos_sql())))
        .bind(album_id)
        .fetch_all(&mut **tx)
        .await
}

pub async fn insert_photo(
    tx: &mut TenantTx,
    album_id: i64,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
    thumbnail: &[u8],
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO photos (album_id, file_name, content_type, bytes, thumbnail, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(album_id)
    .bind(file_name)
    .bind(content_type)
    .bind(bytes)
    .bind(thumbnail)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A photo of the album the reader is shown: `(file name, content type, column)`, where
/// `column` is `bytes` (the original) or `thumbnail`.
pub async fn shown_photo(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
    photo_id: i64,
    column: &'static str,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    let sql = format!(
        "SELECT ph.file_name, ph.content_type, ph.{column}
           FROM photos ph JOIN albums al ON al.id = ph.album_id
          WHERE al.id = $5 AND ph.id = $6 AND {} AND {PHOTO_SHOWN}",
        sees_album()
    );
    reader
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .bind(album_id)
        .bind(photo_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The file name of a photo of the album the reader is shown.
pub async fn shown_file_name(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
    photo_id: i64,
) -> Result<Option<(String,)>, sqlx::Error> {
    let sql = format!(
        "SELECT ph.file_name FROM photos ph JOIN albums al ON al.id = ph.album_id
          WHERE ph.album_id = $5 AND ph.id = $6 AND {} AND {PHOTO_SHOWN}",
        sees_album()
    );
    reader
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .bind(album_id)
        .bind(photo_id)
        .fetch_optional(&mut **tx)
        .await
}

/// A pupil as the tagging form offers them.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct TagChoice {
    pub id: i64,
    pub name: String,
    pub group_name: Option<String>,
    pub image_consent: bool,
    pub tagged: bool,
}

/// The pupils a photo may be tagged with: the group's pupils at school (every pupil at school
/// for a school album), and whoever is tagged already.
pub async fn tag_choices(
    tx: &mut TenantTx,
    group_id: Option<i64>,
    photo_id: i64,
) -> Result<Vec<TagChoice>, sqlx::Error> {
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
    .bind(group_id)
    .bind(photo_id)
    .fetch_all(&mut **tx)
    .await
}

/// How many of `pupils` the photo may be tagged with: pupils at school, and those tagged on
/// it already (a pupil who left stays on the photos they were on).
pub async fn count_taggable(
    tx: &mut TenantTx,
    photo_id: i64,
    pupils: &[i64],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM pupils p
          WHERE p.id = ANY($2)
            AND (p.left_at IS NULL
                 OR EXISTS (SELECT 1 FROM photo_tags t WHERE t.photo_id = $1 AND t.pupil_id = p.id))",
    )
    .bind(photo_id)
    .bind(pupils)
    .fetch_one(&mut **tx)
    .await
}

/// Locks a photo of the album; `None` when the album has no such photo.
pub async fn lock_photo(
    tx: &mut TenantTx,
    album_id: i64,
    photo_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM photos WHERE id = $1 AND album_id = $2 FOR UPDATE")
        .bind(photo_id)
        .bind(album_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The pupils the photo shows, in place of the ones it had.
pub async fn replace_tags(
    tx: &mut TenantTx,
    photo_id: i64,
    pupils: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM photo_tags WHERE photo_id = $1")
        .bind(photo_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO photo_tags (photo_id, pupil_id) SELECT $1, unnest($2::bigint[])")
        .bind(photo_id)
        .bind(pupils)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes a photo of the album; `false` when the album has no such photo.
pub async fn delete_photo(
    tx: &mut TenantTx,
    album_id: i64,
    photo_id: i64,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM photos WHERE id = $1 AND album_id = $2")
        .bind(photo_id)
        .bind(album_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(removed != 0)
}

/// A photo chosen for a zip download.
#[derive(Debug, sqlx::FromRow)]
pub struct ZipItem {
    pub id: i64,
    pub file_name: String,
    pub created_at: DateTime<Utc>,
    pub size: i32,
}

/// Of the chosen photos of the album, those the reader is shown, by id.
pub async fn zip_items(
    tx: &mut TenantTx,
    reader: &AlbumReader,
    album_id: i64,
    chosen: &[i64],
) -> Result<Vec<ZipItem>, sqlx::Error> {
    let sql = format!(
        "SELECT ph.id, ph.file_name, ph.created_at, length(ph.bytes) AS size
           FROM photos ph JOIN albums al ON al.id = ph.album_id
          WHERE ph.album_id = $5 AND ph.id = ANY($6) AND {} AND {PHOTO_SHOWN}
          ORDER BY ph.id",
        sees_album()
    );
    reader
        .bind(sqlx::query_as(AssertSqlSafe(sql)))
        .bind(album_id)
        .bind(chosen)
        .fetch_all(&mut **tx)
        .await
}

/// A photo's bytes, if it is still in the album, in a read-only transaction of its own (a zip
/// download reads its photos one at a time while it streams).
pub async fn read_photo(
    pool: &impl tenant_router::SchoolPool,
    tenant: tenant_router::TenantId,
    album_id: i64,
    photo_id: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    let mut tx = TenantTx::begin_read_only(pool, tenant).await?;
    let bytes = photo_bytes(&mut tx, album_id, photo_id).await?;
    tx.commit().await?;
    Ok(bytes)
}

/// A photo's bytes, if it is still in the album.
pub async fn photo_bytes(
    tx: &mut TenantTx,
    album_id: i64,
    photo_id: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT bytes FROM photos WHERE id = $1 AND album_id = $2")
        .bind(photo_id)
        .bind(album_id)
        .fetch_optional(&mut **tx)
        .await
}
