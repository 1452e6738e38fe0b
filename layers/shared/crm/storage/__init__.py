"""DynamoDB access through PynamoDB: one table, every key prefixed with the account."""
