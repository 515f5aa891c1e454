//! A site's team: invitations by email that become memberships when the invited person signs
//! in with that (confirmed) address, and the owners a site always keeps.

mod common;

use common::{connect_as_user, database, join, new_site, new_user, refusal};
use sqlx::Connection;
use std::time::Duration;
use uuid::Uuid;

#[tokio::test]
async fn an_invitation_becomes_a_membership_when_its_person_signs_in() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, _) = new_site(&db, owner).await;
    let email = format!("ivy-{}@example.test", Uuid::new_v4().simple());
    let mut as_owner = connect_as_user(owner).await;
    sqlx::query(
        "insert into public.site_invitations (site_id, email, display_name, role, support_level, max_concurrent_chats, invited_by) \
         values ($1, $2, 'Ivy', 'operator', 't2', 3, auth.uid())",
    )
    .bind(site)
    .bind(&email)
    .execute(&mut as_owner)
    .await
    .unwrap();
    let shouted =
        sqlx::query("insert into public.site_invitations (site_id, email, invited_by) values ($1, $2, auth.uid())")
            .bind(site)
            .bind(email.to_uppercase())
            .execute(&mut as_owner)
            .await;
    assert!(shouted.is_err(), "addresses are stored lowercase");
    let again =
        sqlx::query("insert into public.site_invitations (site_id, email, invited_by) values ($1, $2, auth.uid())")
            .bind(site)
            .bind(&email)
            .execute(&mut as_owner)
            .await;
    assert!(again.is_err(), "one pending invitation per person and site");

    // Someone signed up with the address but not confirmed yet: nothing is accepted.
    let invitee: Uuid = sqlx::query_scalar("insert into auth.users (email) values ($1) returning id")
        .bind(&email)
        .fetch_one(&db)
        .await
        .unwrap();
    let mut as_invitee = connect_as_user(invitee).await;
    let accept = "select public.accept_invitations()";
    let joined: Vec<Uuid> = sqlx::query_scalar(accept).fetch_one(&mut as_invitee).await.unwrap();
    assert!(joined.is_empty());

    sqlx::query("update auth.users set email_confirmed_at = now() where id = $1")
        .bind(invitee)
        .execute(&db)
        .await
        .unwrap();
    let joined: Vec<Uuid> = sqlx::query_scalar(accept).fetch_one(&mut as_invitee).await.unwrap();
    assert_eq!(joined, [site]);
    let member: (String, String, i32, Option<String>) = sqlx::query_as(
        "select role, support_level, max_concurrent_chats, display_name from public.site_members where site_id = $1 and user_id = $2",
    )
    .bind(site)
    .bind(invitee)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(member, ("operator".into(), "t2".into(), 3, Some("Ivy".into())));
    let accepted_by: Option<Uuid> =
        sqlx::query_scalar("select accepted_by from public.site_invitations where site_id = $1 and email = $2")
            .bind(site)
            .bind(&email)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(accepted_by, Some(invitee));
    let joined: Vec<Uuid> = sqlx::query_scalar(accept).fetch_one(&mut as_invitee).await.unwrap();
    assert!(joined.is_empty(), "accepting again does nothing");

    // An expired invitation is not accepted; an invited operator sees no invitations.
    let (other_site, _) = new_site(&db, owner).await;
    sqlx::query("insert into public.site_invitations (site_id, email, invited_by, expires_at) values ($1, $2, $3, now() - interval '1 minute')")
        .bind(other_site)
        .bind(&email)
        .bind(owner)
        .execute(&db)
        .await
        .unwrap();
    let joined: Vec<Uuid> = sqlx::query_scalar(accept).fetch_one(&mut as_invitee).await.unwrap();
    assert!(joined.is_empty(), "expired");
    let seen: i64 =
        sqlx::query_scalar("select count(*) from public.site_invitations").fetch_one(&mut as_invitee).await.unwrap();
    assert_eq!(seen, 0);
}

#[tokio::test]
async fn a_site_keeps_an_owner_and_only_owners_make_owners() {
    let db = database().await;
    let first = new_user(&db).await;
    let (site, _) = new_site(&db, first).await;
    let admin = new_user(&db).await;
    join(&db, site, admin, "admin").await;
    let set_role = "update public.site_members set role = $1 where site_id = $2 and user_id = $3";

    let mut as_admin = connect_as_user(admin).await;
    for (role, whom) in [("admin", first), ("owner", admin)] {
        let refused = sqlx::query(set_role).bind(role).bind(site).bind(whom).execute(&mut as_admin).await;
        assert_eq!(refusal(refused.unwrap_err()), "forbidden", "an admin sets {whom} to {role}");
    }
    let mut as_first = connect_as_user(first).await;
    let refused = sqlx::query(set_role).bind("admin").bind(site).bind(first).execute(&mut as_first).await;
    assert_eq!(refusal(refused.unwrap_err()), "last_owner");
    let removed = sqlx::query("delete from public.site_members where site_id = $1 and user_id = $2")
        .bind(site)
        .bind(first)
        .execute(&mut as_admin)
        .await
        .unwrap();
    assert_eq!(removed.rows_affected(), 0, "owners are not removed");

    sqlx::query(set_role)
        .bind("owner")
        .bind(site)
        .bind(admin)
        .execute(&mut as_first)
        .await
        .expect("an owner makes an owner");
    sqlx::query(set_role)
        .bind("admin")
        .bind(site)
        .bind(first)
        .execute(&mut as_first)
        .await
        .expect("another owner remains");
    let owners: i64 =
        sqlx::query_scalar("select count(*) from public.site_members where site_id = $1 and role = 'owner'")
            .bind(site)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(owners, 1);
}

/// Two owners demoting each other at the same moment: the owners lock makes the second wait
/// for the first, which then leaves it the last owner.
#[tokio::test]
async fn two_owners_stepping_down_at_once_leave_one() {
    let db = database().await;
    let (one, two) = (new_user(&db).await, new_user(&db).await);
    let (site, _) = new_site(&db, one).await;
    join(&db, site, two, "owner").await;
    let set_role = "update public.site_members set role = 'admin' where site_id = $1 and user_id = $2";

    let mut first = connect_as_user(one).await;
    let mut tx = first.begin().await.unwrap();
    sqlx::query(set_role).bind(site).bind(two).execute(&mut *tx).await.unwrap();
    let second = tokio::spawn(async move {
        let mut conn = connect_as_user(two).await;
        sqlx::query(set_role).bind(site).bind(one).execute(&mut conn).await.map(drop).map_err(refusal)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second change waits for the first");
    tx.commit().await.unwrap();
    assert_eq!(second.await.unwrap(), Err("last_owner".to_string()));
    let owners: Vec<Uuid> =
        sqlx::query_scalar("select user_id from public.site_members where site_id = $1 and role = 'owner'")
            .bind(site)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(owners, [one]);
}
