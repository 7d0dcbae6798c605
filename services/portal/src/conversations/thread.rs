//! The conversation a person opened last, kept in memory per person (`school_cache`) until
//! something it shows changes for them, as their inbox is (`inbox`): opening it again, after
//! a file or from a notice, reads nothing.
//!
//! What its author sees of who read their messages (N7) is not kept: reading announces the
//! reader, and the mail's state lives in the outbox, so staff read it with every page.

use std::collections::BTreeMap;
use std::sync::Arc;

use schoolplein_kernel::AppState;
use schoolplein_kernel::school_cache::{THREAD, Ticket, Weighed};
use tenant_router::TenantId;

use super::store::{ConversationRow, FileRow, MessageRow, Reader};

/// A conversation as its page shows it to one reader.
#[derive(Debug)]
pub struct Thread {
    pub admin: bool,
    pub conversation: ConversationRow,
    pub messages: Vec<MessageRow>,
    pub files: BTreeMap<i64, Vec<FileRow>>,
    pub archived: bool,
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

/// The kept conversation, when it is `conversation_id` as `reader` read it. Nothing in it is
/// unread: reading it announced the reader, which dropped it.
pub fn kept(
    state: &AppState,
    tenant: TenantId,
    reader: Reader,
    conversation_id: i64,
) -> Option<Arc<Thread>> {
    state
        .school_data
        .get::<Thread>(tenant, (THREAD, reader.person_id))
        .filter(|kept| kept.conversation.id == conversation_id && kept.admin == reader.admin)
}

/// Keeps the conversation read under `ticket` for its reader, unless a change was announced
/// since (their own read marks among them).
pub fn keep(state: &AppState, ticket: Ticket, reader: Reader, thread: Arc<Thread>) {
    let bytes = thread.bytes();
    state
        .school_data
        .put(ticket, (THREAD, reader.person_id), thread, bytes);
}
