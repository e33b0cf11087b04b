-- The person fields of repeat-reporter handling (DSA Art 23: the reporter warned or held,
-- `reporter_id`; who dismissed a counted report, `dismissed_by`; those involved in a
-- warning, `involved`; who decided a hold contest, `decided_by`) for what the SQL derives
-- from a stored document: appends by older workers and any re-derivation. Current workers
-- pass the people they find from the types (domain/people.py); a test compares the two.
-- Events with these fields are new in this release, so no backfill is needed.
CREATE OR REPLACE FUNCTION dueprocess_people_in(p_doc jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT p.id ORDER BY p.id), '{}')
      FROM (
        SELECT a->>'id'
          FROM (VALUES (p_doc->'actor'), (p_doc->'payload'->'actor')) AS v(a)
         WHERE jsonb_typeof(a) = 'object' AND jsonb_typeof(a->'id') = 'string'
           AND coalesce(a->>'kind', 'person') = 'person'
        UNION ALL
        SELECT s.value #>> '{}'
          FROM jsonb_path_query(coalesce(p_doc->'payload', '{}'),
                                'strict $.** ? (@.type() == "object")') AS n(node),
               jsonb_each(n.node) AS kv(key, value),
               jsonb_path_query(kv.value, 'lax $ ? (@.type() == "string")') AS s(value)
         WHERE kv.key IN ('attendees', 'person_id', 'captured_by', 'witness_id',
                          'from_person_id', 'investigator_id', 'member_id', 'members',
                          'recipient_subject_id', 'replaces', 'reviewed_by', 'subject_id',
                          'to_person_id', 'found_by', 'reporter_id', 'dismissed_by',
                          'involved', 'decided_by')
      ) AS p(id)
     WHERE p.id IS NOT NULL
$$;
-- CREATE OR REPLACE keeps owner and grants but not SET clauses: pin the search path again,
-- as 0013 and 0014 did (it runs inside the SECURITY DEFINER append).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION dueprocess_people_in(jsonb) SET search_path = %s',
                   quote_ident(current_schema()) || ', pg_temp');
END;
$$;
