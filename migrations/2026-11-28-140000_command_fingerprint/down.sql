ALTER TABLE processed_commands DROP COLUMN body_hash;
