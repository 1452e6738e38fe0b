"""Files that become contacts (issue: imports from S3): each format is read as a stream of rows."""
