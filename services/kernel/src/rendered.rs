//! HTML rendered once from a value the school cache keeps, reused until that value is
//! replaced: a busy list's rows cost its page more to render than to take from memory.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDate;

use crate::Language;

/// The rendered rows of one kept value, per language and per Dutch day: the `when` words
/// ("vandaag", "gisteren") are all that changes with the clock, and only at midnight.
///
/// It lives inside the kept value, so a change that replaces the value (an announcement, a
/// new read) drops its HTML with it.
#[derive(Debug, Default)]
pub struct Rendered {
    slots: Mutex<Vec<Slot>>,
}

#[derive(Debug)]
struct Slot {
    language: Language,
    day: NaiveDate,
    html: Arc<str>,
}

impl Rendered {
    /// The HTML for `language` today, rendered by `render` when there is none yet.
    pub fn get_or_render<E>(
        &self,
        language: Language,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<Arc<str>, E> {
        self.get_or_render_on(crate::dutch_time::today(), language, render)
    }

    /// As [`Self::get_or_render`], on `day`.
    pub fn get_or_render_on<E>(
        &self,
        day: NaiveDate,
        language: Language,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<Arc<str>, E> {
        if let Some(slot) = self
            .lock()
            .iter()
            .find(|s| s.language == language && s.day == day)
        {
            return Ok(slot.html.clone());
        }
        // Rendered outside the lock: two requests that render the same rows at once both
        // get correct HTML, and the second simply replaces the first.
        let html: Arc<str> = render()?.into();
        let mut slots = self.lock();
        slots.retain(|s| s.day == day && s.language != language);
        slots.push(Slot {
            language,
            day,
            html: html.clone(),
        });
        Ok(html)
    }

    /// How much HTML is kept, for the cache's bound.
    pub fn bytes(&self) -> usize {
        self.lock().iter().map(|s| s.html.len()).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        // A slot is pushed whole or not at all, so a poisoned lock is still sound.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::convert::Infallible;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    #[test]
    fn rows_are_rendered_once_per_language_and_again_on_a_new_day() {
        let rendered = Rendered::default();
        let renders = Cell::new(0);
        let render = |text: &str| {
            renders.set(renders.get() + 1);
            Ok::<_, Infallible>(text.to_owned())
        };
        let nl = |d| rendered.get_or_render_on(day(d), Language::Nl, || render("vandaag"));
        let en = |d| rendered.get_or_render_on(day(d), Language::En, || render("today"));
        assert_eq!(&*nl(5).unwrap(), "vandaag");
        assert_eq!(&*nl(5).unwrap(), "vandaag");
        assert_eq!(
            renders.get(),
            1,
            "the same language on the same day renders once"
        );
        assert_eq!(&*en(5).unwrap(), "today");
        assert_eq!(&*nl(5).unwrap(), "vandaag");
        assert_eq!(renders.get(), 2, "each language keeps its own");
        assert_eq!(rendered.bytes(), "vandaag".len() + "today".len());
        // After midnight "vandaag" has become "gisteren": rendered again, yesterday's dropped.
        nl(6).unwrap();
        assert_eq!(renders.get(), 3);
        assert_eq!(rendered.bytes(), "vandaag".len());
        en(6).unwrap();
        assert_eq!(renders.get(), 4);
    }

    #[test]
    fn a_failed_render_keeps_nothing_and_is_tried_again() {
        let rendered = Rendered::default();
        let failed = rendered.get_or_render_on(day(5), Language::Nl, || Err("template"));
        assert_eq!(failed.unwrap_err(), "template");
        assert_eq!(rendered.bytes(), 0);
        let html = rendered.get_or_render_on(day(5), Language::Nl, || Ok::<_, &str>("<li>".into()));
        assert_eq!(&*html.unwrap(), "<li>");
    }
}
