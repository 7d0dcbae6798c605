//! Before a new process takes traffic: each school's settings and visitor page read once, so
//! that its first visitors meet neither an empty cache nor connections that have never met
//! their school (a burst of first meetings is what slows a fresh process over many schools).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use schoolplein_kernel::{AppState, Language};
use tenant_router::TenantStatus;

use crate::home::public_home;

/// What a warm-up did.
#[derive(Debug, Clone, Copy)]
pub struct WarmUp {
    /// Active schools.
    pub schools: usize,
    /// Schools whose visitor page was read (and kept, while the cache listens).
    pub warmed: usize,
    pub elapsed: Duration,
    /// Whether every school was read before the time ran out.
    pub finished: bool,
}

/// Reads every active school's settings and Dutch visitor page, as many at once as there are
/// connections, for at most `limit`. A school that fails is skipped: its first visitor reads
/// it, as without a warm-up.
pub async fn warm_up(state: &AppState, limit: Duration) -> WarmUp {
    let started = Instant::now();
    // Nothing is kept until the cache hears of changes; wait a moment for its listener.
    let listening_by = started + limit.min(Duration::from_secs(5));
    while !state.school_data.is_listening() && Instant::now() < listening_by {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let schools: Vec<_> = state
        .tenants
        .all()
        .into_iter()
        .filter(|school| school.status == TenantStatus::Active)
        .collect();
    let warmed = AtomicUsize::new(0);
    let at_once = state.config.database.max_connections.max(1) as usize;
    let work = futures_util::stream::iter(&schools).for_each_concurrent(at_once, |school| {
        let warmed = &warmed;
        async move {
            let Ok(settings) = state.settings.get(&state.schools, school.id).await else {
                return;
            };
            if public_home(state, school.id, &settings, Language::Nl)
                .await
                .is_ok()
            {
                warmed.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let left = limit.saturating_sub(started.elapsed());
    let finished = tokio::time::timeout(left, work).await.is_ok();
    WarmUp {
        schools: schools.len(),
        warmed: warmed.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        finished,
    }
}
