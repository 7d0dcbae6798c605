//! Schools with people, for end-to-end tests: signed-in members, children linked to their
//! parents, teachers given groups, the sample roster imported, ids looked up by key.

use schoolplein_kernel::Role;
use schoolplein_kernel::session::{SESSION_COOKIE, SessionData, Sessions};
use schoolplein_registration::{EmailAddress, NewPassword, enroll};
use tenant_router::{TenantEntry, TenantTx};

use crate::client::Client;
use crate::{TestApp, school_host, unique_slug};

/// Every member's password.
pub const PASSWORD: &str = "Kn1kker-Boom-Zeil";
/// The sample EDEXML file of `docs/samples/`.
pub const SAMPLE_EDEXML: &str = include_str!("../../docs/samples/edexml-voorbeeld.xml");

/// A member of a school, signed in, with the host's form token in hand.
#[derive(Debug)]
pub struct Member {
    pub client: Client,
    pub person_id: i64,
    pub email: String,
}

/// Enrolls a member with a fresh address and signs them in.
pub async fn member(app: &TestApp, school: &TenantEntry, name: &str, roles: &[Role]) -> Member {
    let email = format!("{}@example.nl", unique_slug());
    member_with_email(app, school, name, &email, roles).await
}

/// Enrolls a member with this address and signs them in.
pub async fn member_with_email(
    app: &TestApp,
    school: &TenantEntry,
    name: &str,
    email: &str,
    roles: &[Role],
) -> Member {
    let enrolled = enroll(
        &app.state,
        school.id,
        name,
        &EmailAddress::parse(email).expect("a valid address"),
        roles,
        Some(&NewPassword::parse(PASSWORD).expect("a valid password")),
    )
    .await
    .expect("enrolled");
    let mut client = Client::new(app.addr);
    let host = school_host(&school.slug);
    let signed_in = client.sign_in(&host, email, PASSWORD, false).await;
    assert_eq!(signed_in.status, 303, "signing in {email}");
    client.get(&host, "/account").await;
    Member {
        client,
        person_id: enrolled.person_id,
        email: email.to_owned(),
    }
}

/// Runs one statement in the school's schema with a person's id and a key.
async fn exec(app: &TestApp, school: &TenantEntry, sql: &'static str, person_id: i64, key: &str) {
    let mut tx = TenantTx::begin(&app.db.pool, school.id)
        .await
        .expect("a school transaction");
    sqlx::query(sql)
        .bind(person_id)
        .bind(key)
        .execute(&mut *tx)
        .await
        .expect("the statement");
    tx.commit().await.expect("commit");
}

/// Links the pupil with this key to a parent, in effect (as if approved).
pub async fn link_child(app: &TestApp, school: &TenantEntry, person_id: i64, pupil_key: &str) {
    exec(
        app,
        school,
        "INSERT INTO guardians (pupil_id, person_id, status, approved_at)
         SELECT id, $1, 'active', now() FROM pupils WHERE import_key = $2",
        person_id,
        pupil_key,
    )
    .await;
}

/// Makes a member of staff a teacher of the group with this key.
pub async fn teach(app: &TestApp, school: &TenantEntry, person_id: i64, group_key: &str) {
    exec(
        app,
        school,
        "INSERT INTO group_teachers (group_id, person_id)
         SELECT id, $1 FROM groups WHERE import_key = $2",
        person_id,
        group_key,
    )
    .await;
}

/// One number from the school's schema, by a key (`SELECT id FROM groups WHERE import_key = $1`).
pub async fn id(app: &TestApp, school: &TenantEntry, sql: &'static str, key: &str) -> i64 {
    let mut tx = TenantTx::begin(&app.db.pool, school.id)
        .await
        .expect("a school transaction");
    let id = sqlx::query_scalar(sql)
        .bind(key)
        .fetch_one(&mut *tx)
        .await
        .expect("the number");
    tx.rollback().await.expect("rollback");
    id
}

/// Imports the sample roster as the given admin.
pub async fn import_sample(admin: &mut Client, school: &TenantEntry) {
    let host = school_host(&school.slug);
    admin.get(&host, "/admin/import").await;
    let imported = admin
        .post_file(
            &host,
            "/admin/import",
            "export.xml",
            SAMPLE_EDEXML.as_bytes(),
            None,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text());
}

/// Enrolls a parent, signed in, linked (in effect) to the pupils with these keys.
pub async fn parent(app: &TestApp, school: &TenantEntry, name: &str, children: &[&str]) -> Member {
    let parent = member(app, school, name, &[Role::Parent]).await;
    for child in children {
        link_child(app, school, parent.person_id, child).await;
    }
    parent
}

/// Publishes a post through the form (after opening it, for its CSRF token) and returns the
/// new post's id.
pub async fn publish(client: &mut Client, host: &str, fields: &[(&str, &str)]) -> i64 {
    client.get(host, "/posts/new").await;
    let answer = client.post_form(host, "/posts", fields).await;
    assert_eq!(answer.status, 303, "{fields:?}: {}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/posts/"))
        .and_then(|id| id.parse().ok())
        .expect("the new post's address")
}

/// Enrolls a member without a password and starts their session directly in the session
/// store, as signing in would: for tests that need hundreds of signed-in people, where a
/// password hash each would cost minutes.
pub async fn quick_member(
    app: &TestApp,
    school: &TenantEntry,
    name: &str,
    roles: &[Role],
) -> Member {
    let email = format!("{}@example.nl", unique_slug());
    let enrolled = enroll(
        &app.state,
        school.id,
        name,
        &EmailAddress::parse(&email).expect("a valid address"),
        roles,
        None,
    )
    .await
    .expect("enrolled");
    let token = Sessions::from_state(&app.state)
        .create(&SessionData {
            account_id: enrolled.account_id,
            created_at: chrono::Utc::now().timestamp(),
            keep: false,
            device: "test".to_owned(),
        })
        .await
        .expect("a session");
    let mut client = Client::new(app.addr);
    let host = school_host(&school.slug);
    client.set_cookie(&host, SESSION_COOKIE, token.expose());
    client.get(&host, "/account").await;
    Member {
        client,
        person_id: enrolled.person_id,
        email,
    }
}

/// Saves the school's settings with every module on but `off` (and the portal open), through
/// the admin's settings form.
pub async fn switch_off(admin: &mut Client, host: &str, off: schoolplein_kernel::settings::Module) {
    admin.get(host, "/admin/settings").await;
    let fields: Vec<String> = schoolplein_kernel::settings::Module::ALL
        .iter()
        .filter(|m| **m != off)
        .map(|m| format!("module_on_{}", m.as_str()))
        .collect();
    let mut form: Vec<(&str, &str)> = fields.iter().map(|k| (k.as_str(), "1")).collect();
    form.push(("portal_open", "1"));
    let saved = admin.post_form(host, "/admin/settings", &form).await;
    assert_eq!(saved.status, 303, "{}", saved.text());
}
