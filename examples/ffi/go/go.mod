module fwinfer.example/fwinfer

go 1.18
