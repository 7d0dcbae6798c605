//! The numbers the navigation shows a person: posts not read yet, their own notices and
//! messages not read yet (an admin's include the office's), and for admins the parents'
//! sign-ups waiting for approval; kept in the school cache.
//!
//! Read in one statement on one read-only transaction, and kept per person until the school's
//! posts or roster change (which includes a sign-up: guardians announce) or the person's read
//! marks or notices do (tenant migrations 0026, 0027, 0033): every page a person opens after
//! the first within a minute then costs the database nothing for its menu.

use std::sync::{Arc, LazyLock};

use serde::Serialize;
use tenant_router::{SchoolPool, TenantId, TenantTx};

use crate::audience::{PostKind, SEES_POST};
use crate::school_cache::{NAV_COUNTS, SchoolCache, Weighed};
use crate::settings::SchoolSettings;
use crate::viewer::{Role, Viewer};

/// What the navigation counts for one person in one school.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NavCounts {
    /// Posts of the kinds the school shows that reach the person and are not opened yet.
    pub unread_posts: i64,
    /// The person's own notices ("Meldingen") not read yet.
    pub unread_notices: i64,
    /// Messages (C4) waiting unread for the person, and for an admin the office's too.
    pub unread_messages: i64,
    /// For admins: parents' links to a child waiting for the school's approval (A2).
    pub pending_signups: i64,
}

/// A kept count, with what it was counted under: other settings (a module switched) or other
/// roles count differently.
struct Kept {
    counts: NavCounts,
    settings: Arc<SchoolSettings>,
    admin: bool,
}

impl Weighed for Kept {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + 64
    }
}

/// The person's groups as [`crate::audience::PostReader::load`] reads them, inline, so that one
/// statement counts everything.
const READER_GROUPS: &str = "ARRAY(SELECT DISTINCT p.group_id FROM guardians g
                                 JOIN pupils p ON p.id = g.pupil_id
                                WHERE g.person_id = $1 AND g.status = 'active'
                                  AND p.left_at IS NULL AND p.group_id IS NOT NULL
                               UNION
                               SELECT group_id FROM group_teachers WHERE person_id = $1)";

static COUNTS_SQL: LazyLock<String> = LazyLock::new(|| {
    let sees = SEES_POST.replace("$3", READER_GROUPS);
    format!(
        "SELECT (SELECT count(*) FROM posts po
                  WHERE {sees} AND po.kind = ANY($3)
                    AND NOT EXISTS (SELECT 1 FROM post_reads r
                                     WHERE r.post_id = po.id AND r.person_id = $1)),
                (SELECT count(*) FROM notices WHERE person_id = $1 AND read_at IS NULL),
                (SELECT count(*) FROM message_recipients r
                  WHERE r.read_at IS NULL AND (r.person_id = $1 OR ($2 AND r.person_id IS NULL))),
                CASE WHEN $2 THEN (SELECT count(*) FROM guardians WHERE status = 'pending')
                     ELSE 0 END"
    )
});

/// Counts in a transaction of the school.
pub async fn count(
    tx: &mut TenantTx,
    person_id: i64,
    admin: bool,
    kinds: &[&str],
) -> Result<NavCounts, sqlx::Error> {
    let (unread_posts, unread_notices, unread_messages, pending_signups): (i64, i64, i64, i64) =
        sqlx::query_as(sqlx::AssertSqlSafe(COUNTS_SQL.as_str()))
            .bind(person_id)
            .bind(admin)
            .bind(kinds)
            .fetch_one(&mut **tx)
            .await?;
    Ok(NavCounts {
        unread_posts,
        unread_notices,
        unread_messages,
        pending_signups,
    })
}

/// The counts for `viewer`: kept ones when they were counted under these settings and roles,
/// else counted now (and kept).
pub async fn of(
    cache: &SchoolCache,
    schools: &impl SchoolPool,
    tenant: TenantId,
    viewer: &Viewer,
    settings: &Arc<SchoolSettings>,
) -> Result<NavCounts, sqlx::Error> {
    let admin = viewer.has(Role::SchoolAdmin);
    let person_id = viewer.person_id;
    // Counted from the school's data alone, not from the hour: read again in the background
    // once aged.
    let counted_under = settings.clone();
    let kept = cache
        .get_or_read_again(
            schools,
            tenant,
            (NAV_COUNTS, person_id),
            |kept: &Kept| Arc::ptr_eq(&kept.settings, settings) && kept.admin == admin,
            move |tx| {
                let settings = counted_under.clone();
                Box::pin(async move {
                    let kinds = PostKind::shown_by(&settings);
                    let mut counts = count(tx, person_id, admin, &kinds).await?;
                    // Messages the school switched off wait nowhere.
                    if !settings.is_on(crate::settings::Module::Messages) {
                        counts.unread_messages = 0;
                    }
                    Ok::<_, sqlx::Error>(Kept {
                        counts,
                        settings,
                        admin,
                    })
                })
            },
        )
        .await?;
    Ok(kept.counts)
}

/// Messages (C4) waiting unread for the person, and for an admin the office's too.
pub async fn unread_messages(
    tx: &mut TenantTx,
    person_id: i64,
    admin: bool,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM message_recipients r
          WHERE r.read_at IS NULL AND (r.person_id = $1 OR ($2 AND r.person_id IS NULL))",
    )
    .bind(person_id)
    .bind(admin)
    .fetch_one(&mut **tx)
    .await
}
