//! Dutch time on the pages: an instant is shown in Europe/Amsterdam on both sides of the
//! changes to and from summer time, never in UTC.

use chrono::{TimeZone, Utc};
use schoolplein_kernel::Role;
use schoolplein_tests::school::{self, publish};
use schoolplein_tests::{TestApp, school_host};
use tenant_router::TenantTx;

#[tokio::test]
async fn posts_made_at_half_past_one_utc_on_the_last_sundays_of_march_and_october_show_dutch_time()
{
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Klimop", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin])
        .await
        .client;
    // 29 March 2026 01:30 UTC is 03:30 summer time; 25 October 2026 01:30 UTC is 02:30
    // winter time (the hour from 02:00 to 03:00 came twice that night).
    let cases = [
        (
            "Lente",
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap(),
            "29 mrt",
            "03:30",
        ),
        (
            "Herfst",
            Utc.with_ymd_and_hms(2026, 10, 25, 1, 30, 0).unwrap(),
            "25 okt",
            "02:30",
        ),
    ];
    for (title, at, day, time) in cases {
        let post = publish(
            &mut admin,
            &host,
            &[("kind", "news"), ("title", title), ("whole_school", "on")],
        )
        .await;
        let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
        sqlx::query("UPDATE posts SET published_at = $2 WHERE id = $1")
            .bind(post)
            .bind(at)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let page = admin.get(&host, &format!("/posts/{post}")).await.text();
        let shown = format!("{day} {time}");
        let shown_with_year = format!("{day} 2026 {time}");
        assert!(
            page.contains(&shown) || page.contains(&shown_with_year),
            "{title}: {shown} in {page}"
        );
        assert!(!page.contains("01:30"), "{title}: shown in UTC");
        let timeline = schoolplein_tests::eventually(std::time::Duration::from_secs(5), || {
            let mut admin = admin.clone();
            let host = host.clone();
            let shown = shown.clone();
            let shown_with_year = shown_with_year.clone();
            async move {
                let text = admin.get(&host, "/timeline").await.text();
                text.contains(&shown) || text.contains(&shown_with_year)
            }
        })
        .await;
        assert!(timeline.is_some(), "{title} on the timeline at {shown}");
    }
}
