-- What a command said, so a command_id used again for another order or
-- another body is told apart from a redelivery (COMMAND_ID_CONFLICT).
-- NULL for rows written before this column: such a reuse is taken for a
-- redelivery, as before.
ALTER TABLE processed_commands ADD COLUMN body_hash bigint;
