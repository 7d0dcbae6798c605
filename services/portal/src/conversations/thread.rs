//! The conversation a person opened last, kept in memory per person (`school_cache`) until
//! something it shows changes for them, as their inbox is (`inbox`): opening it again, after
//! a file or from a notice, reads nothing. That includes what staff see of their own
//! messages (N7): a read or notice mark, and a mail queued, sent or refused, announce the
//! message's author, and an address marked undeliverable its schools (tenant migration 0044,
//! platform migration 20261207000001).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use schoolplein_kernel::AppState;
use schoolplein_kernel::school_cache::{THREAD, Ticket, Weighed};
use tenant_router::TenantId;

use super::store::{ConversationRow, DeliveryRow, FileRow, MessageRow, Reader};

/// A conversation as its page shows it to one reader.
#[derive(Debug)]
pub struct Thread {
    pub admin: bool,
    /// Read for staff, who see who received their messages.
    pub staff: bool,
    pub conversation: ConversationRow,
    pub messages: Vec<MessageRow>,
    pub files: BTreeMap<i64, Vec<FileRow>>,
    pub archived: bool,
    /// Per message of the reader's own, for staff: each recipient, read or not, noticed or
    /// not, and their mail (N7).
    pub delivery: BTreeMap<i64, Delivery>,
}

/// Whether a message arrived, as its author sees it.
#[derive(Debug, Default, Serialize)]
pub struct Delivery {
    pub read: usize,
    pub noticed: usize,
    pub recipients: Vec<DeliveryRow>,
}

impl Delivery {
    /// The recipients of each message, counted.
    pub fn of(rows: Vec<DeliveryRow>) -> BTreeMap<i64, Delivery> {
        let mut delivery: BTreeMap<i64, Delivery> = BTreeMap::new();
        for row in rows {
            let entry = delivery.entry(row.message_id).or_default();
            entry.read += usize::from(row.read_at.is_some());
            entry.noticed += usize::from(row.noticed_at.is_some());
            entry.recipients.push(row);
        }
        delivery
    }
}

impl Weighed for Thread {
    fn bytes(&self) -> usize {
        let message = |m: &MessageRow| {
            std::mem::size_of::<MessageRow>()
                + m.author.len()
                + m.body.len()
                + m.recipients
                    .iter()
                    .map(|(_, name, _)| 32 + name.len())
                    .sum::<usize>()
        };
        let files = self.files.values().flatten();
        std::mem::size_of::<Self>()
            + self.conversation.subject.len()
            + self.messages.iter().map(message).sum::<usize>()
            + files
                .map(|f| std::mem::size_of::<FileRow>() + f.file_name.len())
                .sum::<usize>()
    }
}

/// The kept conversation, when it is `conversation_id` as `reader` read it (as staff or not).
/// Nothing in it is unread: reading it announced the reader, which dropped it.
pub fn kept(
    state: &AppState,
    tenant: TenantId,
    reader: Reader,
    staff: bool,
    conversation_id: i64,
) -> Option<Arc<Thread>> {
    state
        .school_data
        .get::<Thread>(tenant, (THREAD, reader.person_id))
        .filter(|kept| {
            kept.conversation.id == conversation_id
                && kept.admin == reader.admin
                && kept.staff == staff
        })
}

/// Keeps the conversation read under `ticket` for its reader, unless a change was announced
/// since (their own read marks among them).
pub fn keep(state: &AppState, ticket: Ticket, reader: Reader, thread: Arc<Thread>) {
    let bytes = thread.bytes();
    state
        .school_data
        .put(ticket, (THREAD, reader.person_id), thread, bytes);
}
