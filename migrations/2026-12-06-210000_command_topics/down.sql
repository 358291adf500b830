DROP TABLE command_topics;
