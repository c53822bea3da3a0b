-- The sync's objects as the catalog holds them, as one jsonb value: what the schema drift
-- test (tests/schema_test.ts) compares between a database built from supabase/migrations
-- and one built from supabase/schemas. Every object of the schemas public, clerk_sync and
-- clerk: tables with their columns (in order, with types, defaults, collations), row-level
-- security, constraints, indexes, triggers, policies, grants and comments; functions with
-- their whole definition (body, settings, security), grants and comments; types; the
-- schemas' own grants and comments; and the reference rows of clerk_sync.delete_modes and
-- clerk_sync.cascades.
with
  sync_schemas as (
    select n.oid, n.nspname
    from pg_catalog.pg_namespace n
    where n.nspname in ('public', 'clerk_sync', 'clerk')
  ),
  acl as (
    -- A null ACL means the defaults: read it as such, so that both sides compare alike.
    select c.oid, c.relkind,
      (select coalesce(jsonb_agg(jsonb_build_object(
          'grantee', a.grantee::regrole::text, 'privilege', a.privilege_type
        ) order by a.grantee::regrole::text, a.privilege_type), '[]')
       from aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a) as grants
    from pg_catalog.pg_class c
  ),
  tables as (
    select jsonb_object_agg(format('%s.%s', s.nspname, c.relname), jsonb_build_object(
      'kind', c.relkind,
      'rls', c.relrowsecurity,
      'force_rls', c.relforcerowsecurity,
      'comment', obj_description(c.oid, 'pg_class'),
      'grants', acl.grants,
      'columns', (
        select jsonb_agg(jsonb_build_object(
          'name', a.attname,
          'type', format_type(a.atttypid, a.atttypmod),
          'not_null', a.attnotnull,
          'default', pg_get_expr(d.adbin, d.adrelid),
          'identity', a.attidentity,
          'generated', a.attgenerated,
          'collation', nullif(a.attcollation, 0)::regcollation::text,
          'comment', col_description(c.oid, a.attnum)
        ) order by a.attnum)
        from pg_catalog.pg_attribute a
        left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      ),
      'constraints', (
        select coalesce(jsonb_object_agg(k.conname, pg_get_constraintdef(k.oid)), '{}')
        from pg_catalog.pg_constraint k where k.conrelid = c.oid
      ),
      'indexes', (
        select coalesce(jsonb_object_agg(i.relname, pg_get_indexdef(i.oid)), '{}')
        from pg_catalog.pg_index x join pg_catalog.pg_class i on i.oid = x.indexrelid
        where x.indrelid = c.oid
      ),
      'triggers', (
        select coalesce(jsonb_object_agg(t.tgname, pg_get_triggerdef(t.oid)), '{}')
        from pg_catalog.pg_trigger t where t.tgrelid = c.oid and not t.tgisinternal
      ),
      'policies', (
        select coalesce(jsonb_object_agg(p.polname, jsonb_build_object(
          'command', p.polcmd,
          'permissive', p.polpermissive,
          'roles', (select jsonb_agg(r::regrole::text order by r::regrole::text)
                    from unnest(p.polroles) r),
          'using', pg_get_expr(p.polqual, p.polrelid),
          'check', pg_get_expr(p.polwithcheck, p.polrelid)
        )), '{}')
        from pg_catalog.pg_policy p where p.polrelid = c.oid
      )
    )) as value
    from pg_catalog.pg_class c
    join sync_schemas s on s.oid = c.relnamespace
    join acl on acl.oid = c.oid
    where c.relkind in ('r', 'v', 'm', 'p', 'f')
  ),
  functions as (
    select jsonb_object_agg(p.oid::regprocedure::text, jsonb_build_object(
      'definition', pg_get_functiondef(p.oid),
      'comment', obj_description(p.oid, 'pg_proc'),
      'grants', (
        select jsonb_agg(jsonb_build_object(
          'grantee', case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end,
          'privilege', a.privilege_type
        ) order by a.grantee::regrole::text, a.privilege_type)
        from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      )
    )) as value
    from pg_catalog.pg_proc p
    join sync_schemas s on s.oid = p.pronamespace
    -- Extensions' functions (pgTAP's, in public on some servers) are not the sync's.
    where not exists (
      select 1 from pg_catalog.pg_depend d
      where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e'
    )
  ),
  types as (
    select jsonb_object_agg(format('%s.%s', s.nspname, t.typname), jsonb_build_object(
      'comment', obj_description(t.oid, 'pg_type'),
      'attributes', (
        select jsonb_agg(jsonb_build_object(
          'name', a.attname,
          'type', format_type(a.atttypid, a.atttypmod),
          'collation', nullif(a.attcollation, 0)::regcollation::text
        ) order by a.attnum)
        from pg_catalog.pg_attribute a
        where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
      )
    )) as value
    from pg_catalog.pg_type t
    join sync_schemas s on s.oid = t.typnamespace
    where t.typtype = 'c'
      and (select c.relkind from pg_catalog.pg_class c where c.oid = t.typrelid) = 'c'
  ),
  schemas as (
    select jsonb_object_agg(n.nspname, jsonb_build_object(
      'comment', obj_description(n.oid, 'pg_namespace'),
      'grants', (
        select jsonb_agg(jsonb_build_object(
          'grantee', case when a.grantee = 0 then 'PUBLIC' else a.grantee::regrole::text end,
          'privilege', a.privilege_type
        ) order by a.grantee::regrole::text, a.privilege_type)
        from aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
      )
    )) as value
    from pg_catalog.pg_namespace n
    join sync_schemas s on s.oid = n.oid
  )
select jsonb_build_object(
  'schemas', (select value from schemas),
  'tables', (select coalesce(value, '{}') from tables),
  'functions', (select coalesce(value, '{}') from functions),
  'types', (select coalesce(value, '{}') from types),
  'delete_modes', (
    select jsonb_object_agg(m.entity, m.mode) from clerk_sync.delete_modes m
  ),
  'cascades', (
    select coalesce(jsonb_agg(to_jsonb(c) order by c.parent, c.child, c.parent_column), '[]')
    from clerk_sync.cascades c
  )
) as catalog;
