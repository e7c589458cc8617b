#!version:1.0.0.1
overwrite_mode = 1
