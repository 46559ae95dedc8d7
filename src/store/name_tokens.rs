//! The blind indexes of the words of client names: one row per case and distinct word
//! (`case_name_tokens`), and the search condition that finds the cases of an office
//! holding every word searched.
//!
//! Invariant: only keyed HMAC values, never a word; a case's rows are replaced whole
//! (the old ones overwritten on delete, `secure_delete`) and go with the case.
use rusqlite::params;
use rusqlite::types::Value;

use super::{R, WriteTx, exec};

/// The condition on `c` (a case of `office` holding every tag) and its parameters from
/// ?1. Each (case, tag) is stored once, so a case holding every distinct tag searched
/// has exactly that many rows among them. `+c.office` keeps the planner from walking
/// the whole office by rowid and testing each case against the matches: it looks the
/// matches up by id instead, so a page costs what the words match, not the office size.
pub(super) fn scope(office: &str, tags: &[Vec<u8>]) -> (String, Vec<Value>) {
    let mut tags = tags.to_vec();
    tags.sort();
    tags.dedup();
    let marks: Vec<String> = (0..tags.len()).map(|i| format!("?{}", i + 2)).collect();
    let cond = format!(
        "+c.office = ?1 AND c.id IN (SELECT case_id FROM case_name_tokens
           WHERE tag IN ({}) GROUP BY case_id HAVING COUNT(*) = {})",
        marks.join(", "),
        tags.len()
    );
    let mut params = vec![Value::Text(office.to_owned())];
    params.extend(tags.into_iter().map(Value::Blob));
    (cond, params)
}

impl WriteTx<'_> {
    /// Replaces the name-word blind indexes of a case (the old rows are overwritten on
    /// delete: `secure_delete`).
    pub(super) fn set_name_tokens(&self, id: &str, tags: &[Vec<u8>]) -> R<()> {
        exec(
            self,
            "DELETE FROM case_name_tokens WHERE case_id = ?1",
            [id],
        )?;
        for tag in tags {
            exec(
                self,
                "INSERT OR IGNORE INTO case_name_tokens (case_id, tag) VALUES (?1, ?2)",
                params![id, tag],
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CaseIndexes, CaseScope, Db, NewCaseRow, NewOfficeRow, StoreError};

    fn ids(db: &Db, scope: &CaseScope<'_>) -> Vec<String> {
        db.read(|tx| tx.case_page(scope, None, 10))
            .unwrap()
            .into_iter()
            .map(|(_, c)| c.id)
            .collect()
    }

    /// A word search finds the cases of the office that hold every word, and only
    /// there: a tag equal to another office's never reaches across.
    #[test]
    fn name_tokens_scope_intersects_within_one_office_and_goes_with_the_case() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let (a, b, c) = (vec![1u8; 16], vec![2u8; 16], vec![3u8; 16]);
        let t = "2026-01-01T00:00:00Z";
        db.write(|tx| -> Result<(), StoreError> {
            for slug in ["bronx", "queens"] {
                tx.insert_office(&NewOfficeRow {
                    slug,
                    recipient: "age1example",
                    wrapped_identity: None,
                    kdf_log_n: None,
                    by_holders: false,
                    created_at: t,
                })?;
            }
            for (id, office, tags) in [
                ("c1", "bronx", vec![a.clone(), b.clone()]),
                ("c2", "bronx", vec![a.clone()]),
                ("c3", "queens", vec![a.clone(), b.clone()]),
            ] {
                tx.insert_case(&NewCaseRow {
                    id,
                    office,
                    created_by: "u",
                    recipient: "age1case",
                    wrapped_identity: b"w",
                    metadata: b"m",
                    a_number_index: None,
                    a_number_pending: false,
                    created_at: t,
                })?;
                tx.set_case_indexes(
                    id,
                    &CaseIndexes {
                        a_number: None,
                        client_name: b"n",
                        name_tokens: &tags,
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
        fn scope<'a>(office: &'a str, tags: &'a [Vec<u8>]) -> CaseScope<'a> {
            CaseScope::NameTokens { office, tags }
        }
        let ab = [a.clone(), b.clone()];
        assert_eq!(ids(&db, &scope("bronx", &ab)), ["c1"]);
        assert_eq!(ids(&db, &scope("bronx", &[b.clone(), a.clone()])), ["c1"]);
        assert_eq!(
            ids(&db, &scope("bronx", std::slice::from_ref(&a))),
            ["c2", "c1"]
        );
        assert_eq!(
            ids(&db, &scope("bronx", &[a.clone(), a.clone()])),
            ["c2", "c1"]
        );
        assert_eq!(ids(&db, &scope("queens", &ab)), ["c3"]);
        assert!(ids(&db, &scope("bronx", &[a.clone(), c.clone()])).is_empty());
        assert!(ids(&db, &scope("bronx", std::slice::from_ref(&c))).is_empty());
        let pos = |id| {
            db.read(|tx| tx.case_position(&scope("bronx", &ab), id))
                .unwrap()
        };
        assert!(pos("c1").is_some());
        assert!(
            pos("c3").is_none(),
            "another office's case is never in scope"
        );
        // Paging: the page after c2 holds c1.
        let before = db
            .read(|tx| tx.case_position(&CaseScope::Office("bronx"), "c2"))
            .unwrap();
        let next = db
            .read(|tx| tx.case_page(&scope("bronx", std::slice::from_ref(&a)), before, 10))
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].1.id, "c1");

        // New words replace the old; a purge and a backup snapshot take them all.
        let rows = |id: &str| -> i64 {
            db.read(|tx| {
                tx.q_row(
                    "SELECT COUNT(*) FROM case_name_tokens WHERE case_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)
            })
            .unwrap()
        };
        db.write(|tx| {
            tx.set_case_indexes(
                "c2",
                &CaseIndexes {
                    a_number: None,
                    client_name: b"n",
                    name_tokens: std::slice::from_ref(&c),
                },
            )
        })
        .unwrap();
        assert_eq!(ids(&db, &scope("bronx", std::slice::from_ref(&a))), ["c1"]);
        assert_eq!(ids(&db, &scope("bronx", std::slice::from_ref(&c))), ["c2"]);
        db.write(|tx| tx.purge_case("c1")).unwrap();
        assert_eq!(rows("c1"), 0);
        assert_eq!(rows("c2"), 1);
        db.write(|tx| tx.purge_office("queens")).unwrap();
        assert_eq!(rows("c3"), 0);
        db.write(|tx| tx.strip_for_backup()).unwrap();
        assert_eq!(rows("c2"), 0);
    }
}
