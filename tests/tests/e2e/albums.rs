//! Photo albums (C6): who sees which album and photo (its group, another group, another
//! school), photos of children without image-use consent, the zip of exactly the selected
//! photos one is shown, uploads that are real pictures, parents adding photos only where
//! staff let them, and who may delete.

use schoolplein_kernel::Role;
use schoolplein_tests::archive::unzip;
use schoolplein_tests::client::Client;
use schoolplein_tests::school::{self, parent};
use schoolplein_tests::{TestApp, school_host};
use tenant_router::{TenantEntry, TenantTx};

async fn group_id(app: &TestApp, school: &TenantEntry, key: &str) -> String {
    school::id(
        app,
        school,
        "SELECT id FROM groups WHERE import_key = $1",
        key,
    )
    .await
    .to_string()
}

async fn pupil_id(app: &TestApp, school: &TenantEntry, key: &str) -> String {
    school::id(
        app,
        school,
        "SELECT id FROM pupils WHERE import_key = $1",
        key,
    )
    .await
    .to_string()
}

/// A picture of one colour, encoded as `format`.
fn picture(format: image::ImageFormat, colour: [u8; 3]) -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(640, 480, image::Rgb(colour));
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, format).expect("encoded");
    out.into_inner()
}

/// Makes an album and returns its id.
async fn album(client: &mut Client, host: &str, fields: &[(&str, &str)]) -> i64 {
    client.get(host, "/albums").await;
    let answer = client.post_form(host, "/albums", fields).await;
    assert_eq!(answer.status, 303, "{fields:?}: {}", answer.text());
    answer
        .header("location")
        .and_then(|l| l.strip_prefix("/albums/"))
        .and_then(|id| id.parse().ok())
        .expect("the new album's address")
}

/// The ids of the photos on an album's page (404 gives none).
async fn shown(client: &mut Client, host: &str, album: i64) -> Vec<i64> {
    let page = client.get(host, &format!("/albums/{album}")).await;
    if page.status == 404 {
        return Vec::new();
    }
    assert_eq!(page.status, 200, "{}", page.text());
    page.text()
        .split("id=\"photo-")
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}

/// Uploads one photo and returns its id.
async fn upload(client: &mut Client, host: &str, album: i64, name: &str, bytes: &[u8]) -> i64 {
    let before = shown(client, host, album).await;
    let answer = client
        .post_file(host, &format!("/albums/{album}/photos"), name, bytes, None)
        .await;
    assert_eq!(answer.status, 303, "{name}: {}", answer.text());
    shown(client, host, album)
        .await
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("the new photo on the album's page")
}

/// The zip of the selected photos.
async fn download(client: &mut Client, host: &str, album: i64, photos: &[&str]) -> (u16, Vec<u8>) {
    client.get(host, &format!("/albums/{album}")).await;
    let fields: Vec<(&str, &str)> = photos.iter().map(|id| ("photos", *id)).collect();
    let answer = client
        .post_form(host, &format!("/albums/{album}/download"), &fields)
        .await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn albums_reach_their_group_and_photos_of_children_without_consent_stay_with_their_own() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool Het Fotoboek", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf 3b", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut teacher_4 = school::member(&app, &school, "Meester 4", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher_4.person_id, "G4").await;
    // Sanne and Daan are in group 3b, Elif in group 4.
    let mut sanne_parent = parent(&app, &school, "Ouder van Sanne", &["2026001"]).await;
    let mut daan_parent = parent(&app, &school, "Ouder van Daan", &["2026002"]).await;
    let mut elif_parent = parent(&app, &school, "Ouder van Elif", &["2026003"]).await;
    let g3 = group_id(&app, &school, "G3B").await;
    let sanne = pupil_id(&app, &school, "2026001").await;
    let daan = pupil_id(&app, &school, "2026002").await;

    let trip = album(
        &mut teacher.client,
        &host,
        &[("title", "Kinderboerderij"), ("group_id", &g3)],
    )
    .await;
    let red = picture(image::ImageFormat::Jpeg, [220, 20, 20]);
    let green = picture(image::ImageFormat::Png, [20, 220, 20]);
    let blue = picture(image::ImageFormat::Jpeg, [20, 20, 220]);
    let red_id = upload(&mut teacher.client, &host, trip, "rood.jpg", &red).await;
    let green_id = upload(&mut teacher.client, &host, trip, "groen.png", &green).await;
    let blue_id = upload(&mut teacher.client, &host, trip, "blauw.jpg", &blue).await;
    let (red_s, green_s, blue_s) = (
        red_id.to_string(),
        green_id.to_string(),
        blue_id.to_string(),
    );

    // Sanne (no consent recorded) is on the green photo; Daan, whose parents said yes, on
    // the blue one.
    let tag = |photo: i64| format!("/albums/{trip}/photos/{photo}/tags");
    teacher
        .client
        .get(&host, &format!("/albums/{trip}/photos/{green_id}"))
        .await;
    let answer = teacher
        .client
        .post_form(&host, &tag(green_id), &[("pupils", &sanne)])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let answer = teacher
        .client
        .post_form(&host, &tag(blue_id), &[("pupils", &daan)])
        .await;
    assert_eq!(answer.status, 303);
    admin.client.get(&host, "/admin/image-consent").await;
    let answer = admin
        .client
        .post_form(&host, "/admin/image-consent", &[("consent", &daan)])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    // Only an admin records consent.
    teacher.client.get(&host, "/albums").await;
    let answer = teacher
        .client
        .post_form(&host, "/admin/image-consent", &[("consent", &sanne)])
        .await;
    assert_eq!(answer.status, 403);

    let other = app.create_school("Andere school", "").await;
    let other_host = school_host(&other.slug);
    let mut elsewhere = school::member(&app, &other, "Ouder elders", &[Role::Parent]).await;

    // Who sees which photo on the album's page.
    let all = vec![red_id, green_id, blue_id];
    assert_eq!(shown(&mut teacher.client, &host, trip).await, all);
    assert_eq!(shown(&mut admin.client, &host, trip).await, all);
    assert_eq!(shown(&mut sanne_parent.client, &host, trip).await, all);
    assert_eq!(
        shown(&mut daan_parent.client, &host, trip).await,
        vec![red_id, blue_id]
    );
    assert!(shown(&mut elif_parent.client, &host, trip).await.is_empty());
    assert!(shown(&mut teacher_4.client, &host, trip).await.is_empty());
    assert!(
        !elif_parent
            .client
            .get(&host, "/albums")
            .await
            .text()
            .contains(&format!("id=\"album-{trip}\""))
    );
    assert!(
        sanne_parent
            .client
            .get(&host, "/albums")
            .await
            .text()
            .contains(&format!("id=\"album-{trip}\""))
    );

    // The photo itself, its thumbnail and its page answer alike.
    for suffix in ["", "/thumbnail", "/original"] {
        let green_path = format!("/albums/{trip}/photos/{green_id}{suffix}");
        let red_path = format!("/albums/{trip}/photos/{red_id}{suffix}");
        assert_eq!(
            sanne_parent.client.get(&host, &green_path).await.status,
            200
        );
        assert_eq!(teacher.client.get(&host, &green_path).await.status, 200);
        assert_eq!(daan_parent.client.get(&host, &green_path).await.status, 404);
        assert_eq!(daan_parent.client.get(&host, &red_path).await.status, 200);
        assert_eq!(elif_parent.client.get(&host, &red_path).await.status, 404);
        assert_eq!(
            elsewhere.client.get(&other_host, &red_path).await.status,
            404
        );
    }
    let thumbnail = daan_parent
        .client
        .get(&host, &format!("/albums/{trip}/photos/{red_id}/thumbnail"))
        .await;
    assert_eq!(thumbnail.header("content-type"), Some("image/jpeg"));
    assert_eq!(thumbnail.header("x-content-type-options"), Some("nosniff"));
    let small = image::load_from_memory(&thumbnail.body).expect("a picture");
    assert_eq!((small.width(), small.height()), (320, 240));
    let original = daan_parent
        .client
        .get(&host, &format!("/albums/{trip}/photos/{red_id}/original"))
        .await;
    assert_eq!(original.body, red);
    assert!(
        original
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"rood.jpg\""))
    );

    // The zip holds exactly the selected photos the downloader is shown.
    let (status, archive) = download(
        &mut daan_parent.client,
        &host,
        trip,
        &[&red_s, &green_s, &blue_s],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        unzip(&archive),
        vec![
            (format!("{red_id}-rood.jpg"), red.clone()),
            (format!("{blue_id}-blauw.jpg"), blue.clone()),
        ]
    );
    let (status, archive) =
        download(&mut sanne_parent.client, &host, trip, &[&green_s, &blue_s]).await;
    assert_eq!(status, 200);
    assert_eq!(
        unzip(&archive),
        vec![
            (format!("{green_id}-groen.png"), green.clone()),
            (format!("{blue_id}-blauw.jpg"), blue.clone()),
        ]
    );
    let (status, _) = download(&mut daan_parent.client, &host, trip, &[&green_s]).await;
    assert_eq!(status, 404, "only hidden photos chosen");
    let (status, _) = download(&mut elif_parent.client, &host, trip, &[&red_s]).await;
    assert_eq!(status, 404, "another group's album");
    let (status, _) = download(&mut elsewhere.client, &other_host, trip, &[&red_s]).await;
    assert_eq!(status, 404, "another school");
    let too_many: Vec<String> = (1..=201).map(|n| n.to_string()).collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    for selection in [vec![], vec!["rood"], too_many] {
        let (status, body) = download(&mut daan_parent.client, &host, trip, &selection).await;
        assert_eq!(status, 400, "{} chosen", selection.len());
        assert!(String::from_utf8_lossy(&body).contains("photos"));
    }

    // Consent recorded for Sanne: the green photo reaches the other parents of the group.
    admin.client.get(&host, "/admin/image-consent").await;
    let answer = admin
        .client
        .post_form(
            &host,
            "/admin/image-consent",
            &[("consent", &daan), ("consent", &sanne)],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(shown(&mut daan_parent.client, &host, trip).await, all);
    // Consent withdrawn for Daan: the blue photo leaves the other parents again.
    let answer = admin
        .client
        .post_form(&host, "/admin/image-consent", &[("consent", &sanne)])
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(
        shown(&mut sanne_parent.client, &host, trip).await,
        vec![red_id, green_id]
    );
    assert_eq!(shown(&mut daan_parent.client, &host, trip).await, all);

    // Deleting: not a parent, not another group's teacher; the album's teacher may.
    let delete = format!("/albums/{trip}/photos/{red_id}/delete");
    let answer = sanne_parent.client.post_form(&host, &delete, &[]).await;
    assert_eq!(answer.status, 403);
    let answer = teacher_4.client.post_form(&host, &delete, &[]).await;
    assert_eq!(answer.status, 404);
    let answer = sanne_parent
        .client
        .post_form(&host, &format!("/albums/{trip}/delete"), &[])
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        shown(&mut daan_parent.client, &host, trip).await,
        all,
        "nothing was deleted"
    );
    let answer = teacher.client.post_form(&host, &delete, &[]).await;
    assert_eq!(answer.status, 303);
    assert_eq!(
        shown(&mut daan_parent.client, &host, trip).await,
        vec![green_id, blue_id]
    );

    // Sanne leaves the school: her tag stays, and the photo's tags can still be saved with
    // her ticked; she cannot be added to another photo.
    let mut tx = TenantTx::begin(&app.db.pool, school.id).await.unwrap();
    sqlx::query("UPDATE pupils SET left_at = now() WHERE id = $1::text::bigint")
        .bind(&sanne)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let answer = teacher
        .client
        .post_form(
            &host,
            &tag(green_id),
            &[("pupils", &sanne), ("pupils", &daan)],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let page = teacher
        .client
        .get(&host, &format!("/albums/{trip}/photos/{green_id}"))
        .await
        .text();
    for pupil in [&sanne, &daan] {
        assert!(
            page.contains(&format!("value=\"{pupil}\" checked")),
            "{page}"
        );
    }
    let answer = teacher
        .client
        .post_form(
            &host,
            &tag(blue_id),
            &[("pupils", &sanne), ("pupils", &daan)],
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let answer = teacher
        .client
        .post_form(&host, &format!("/albums/{trip}/delete"), &[])
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(
        teacher
            .client
            .get(&host, &format!("/albums/{trip}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn uploads_are_real_pictures_and_parents_add_photos_only_where_staff_let_them() {
    let app = TestApp::spawn().await;
    let school = app.create_school("Basisschool De Camera", "").await;
    let host = school_host(&school.slug);
    let mut admin = school::member(&app, &school, "Directeur", &[Role::SchoolAdmin]).await;
    school::import_sample(&mut admin.client, &school).await;
    let mut teacher = school::member(&app, &school, "Juf 3b", &[Role::Teacher]).await;
    school::teach(&app, &school, teacher.person_id, "G3B").await;
    let mut p3 = parent(&app, &school, "Ouder 3b", &["2026001"]).await;
    let mut other_p3 = parent(&app, &school, "Andere ouder 3b", &["2026002"]).await;
    let mut p4 = parent(&app, &school, "Ouder 4", &["2026003"]).await;
    let g3 = group_id(&app, &school, "G3B").await;
    let g4 = group_id(&app, &school, "G4").await;

    // Who may make an album, and for whom.
    for (fields, field) in [
        (vec![("title", "Hele school"), ("group_id", "")], "group_id"),
        (
            vec![("title", "Groep 4"), ("group_id", g4.as_str())],
            "group_id",
        ),
        (vec![("title", " "), ("group_id", g3.as_str())], "title"),
        (
            vec![
                ("title", "Ja"),
                ("group_id", g3.as_str()),
                ("parents_may_upload", "ja"),
            ],
            "parents_may_upload",
        ),
    ] {
        teacher.client.get(&host, "/albums").await;
        let answer = teacher.client.post_form(&host, "/albums", &fields).await;
        assert_eq!(answer.status, 400, "{fields:?}");
        assert!(
            answer.text().contains(field),
            "{fields:?}: {}",
            answer.text()
        );
    }
    p3.client.get(&host, "/albums").await;
    let answer = p3
        .client
        .post_form(&host, "/albums", &[("title", "Van mij"), ("group_id", &g3)])
        .await;
    assert_eq!(answer.status, 403);
    let school_album = album(
        &mut admin.client,
        &host,
        &[("title", "Koningsspelen"), ("group_id", "")],
    )
    .await;
    let trip = album(
        &mut teacher.client,
        &host,
        &[("title", "Schoolreis"), ("group_id", &g3)],
    )
    .await;
    let path = format!("/albums/{trip}/photos");

    // Files that are no photo, whatever their names say, or only start like one.
    let jpeg = picture(image::ImageFormat::Jpeg, [90, 90, 200]);
    let mut broken = jpeg[..64].to_vec();
    broken.extend_from_slice(b"<script>alert(1)</script>");
    for (name, bytes) in [
        ("foto.jpg", &b"<!doctype html><script>alert(1)</script>"[..]),
        (
            "foto.png",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        ),
        ("foto.jpg", b"%PDF-1.4\n"),
        ("foto.gif", b"GIF89a\x01\x00\x01\x00"),
        ("kapot.jpg", &broken),
        ("leeg.jpg", b""),
    ] {
        teacher.client.get(&host, &format!("/albums/{trip}")).await;
        let answer = teacher
            .client
            .post_file(&host, &path, name, bytes, None)
            .await;
        assert_eq!(answer.status, 400, "{name}");
        assert!(answer.text().contains("file"), "{name}: {}", answer.text());
    }
    let too_big = {
        let mut bytes = jpeg.clone();
        bytes.resize(10 * 1024 * 1024 + 1, 0);
        bytes
    };
    let answer = teacher
        .client
        .post_file(&host, &path, "groot.jpg", &too_big, None)
        .await;
    assert!([400, 413].contains(&answer.status), "{}", answer.status);
    // One bad file among good ones: nothing is kept.
    teacher.client.get(&host, &format!("/albums/{trip}")).await;
    let answer = teacher
        .client
        .post_files(
            &host,
            &path,
            "file",
            &[("goed.jpg", &jpeg), ("fout.jpg", b"<html>")],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(shown(&mut p3.client, &host, trip).await.is_empty());

    // Parents add photos only once the album's staff let them, and only where they see it.
    p3.client.get(&host, &format!("/albums/{trip}")).await;
    let answer = p3
        .client
        .post_file(&host, &path, "mijn.jpg", &jpeg, None)
        .await;
    assert_eq!(answer.status, 403);
    teacher.client.get(&host, &format!("/albums/{trip}")).await;
    let answer = teacher
        .client
        .post_form(
            &host,
            &format!("/albums/{trip}/settings"),
            &[("parents_may_upload", "on")],
        )
        .await;
    assert_eq!(answer.status, 303);
    let hostile = "<img src=x onerror=alert(1)>.jpg";
    let mine = upload(&mut p3.client, &host, trip, hostile, &jpeg).await;
    let page = other_p3
        .client
        .get(&host, &format!("/albums/{trip}"))
        .await
        .text();
    assert!(page.contains(&format!("id=\"photo-{mine}\"")), "{page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;.jpg"),
        "{page}"
    );
    assert!(!page.contains("<img src=x"), "{page}");
    let answer = p4
        .client
        .post_file(&host, &path, "vreemd.jpg", &jpeg, None)
        .await;
    assert_eq!(answer.status, 404, "a parent who does not see the album");
    let answer = p3
        .client
        .post_file(
            &host,
            &format!("/albums/{school_album}/photos"),
            "school.jpg",
            &jpeg,
            None,
        )
        .await;
    assert_eq!(
        answer.status, 403,
        "the school's album is closed to parents"
    );
    // A parent who added a photo still cannot delete it, nor tag it.
    let answer = p3
        .client
        .post_form(&host, &format!("/albums/{trip}/photos/{mine}/delete"), &[])
        .await;
    assert_eq!(answer.status, 403);
    let sanne = pupil_id(&app, &school, "2026001").await;
    let answer = p3
        .client
        .post_form(
            &host,
            &format!("/albums/{trip}/photos/{mine}/tags"),
            &[("pupils", &sanne)],
        )
        .await;
    assert_eq!(answer.status, 403);
    // Staff tag only pupils of the school.
    teacher.client.get(&host, &format!("/albums/{trip}")).await;
    for pupils in ["999999", "Sanne"] {
        let answer = teacher
            .client
            .post_form(
                &host,
                &format!("/albums/{trip}/photos/{mine}/tags"),
                &[("pupils", pupils)],
            )
            .await;
        assert_eq!(answer.status, 400, "{pupils}");
        assert!(answer.text().contains("pupils"), "{}", answer.text());
    }
    // Closed again: the parents' way in is gone.
    let answer = teacher
        .client
        .post_form(&host, &format!("/albums/{trip}/settings"), &[])
        .await;
    assert_eq!(answer.status, 303);
    p3.client.get(&host, &format!("/albums/{trip}")).await;
    let answer = p3
        .client
        .post_file(&host, &path, "nog een.jpg", &jpeg, None)
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(shown(&mut other_p3.client, &host, trip).await, vec![mine]);
}
