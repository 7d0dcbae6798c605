//! Embeds every template of the crate (see `schoolplein_build::embed_templates`).

fn main() {
    schoolplein_build::embed_templates("schoolday/");
}
