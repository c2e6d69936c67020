-- crvs `parent_identifier` is answered from the `parent1_identifier` / `parent2_identifier` rows at query time
-- (ProfileAttribute.storedAs): its own rows, a copy of theirs (about 7 % of a crvs registry's value rows), go.
DELETE FROM registrant_values WHERE attr = 'parent_identifier';
