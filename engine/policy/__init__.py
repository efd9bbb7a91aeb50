"""Policy language front end: lexer, parser, AST, loader, validation."""
