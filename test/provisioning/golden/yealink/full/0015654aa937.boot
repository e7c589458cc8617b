#!version:1.0.0.1
include:config <https://prov.example.net/prov/yealink/0015654aa937.cfg>
overwrite_mode = 1
