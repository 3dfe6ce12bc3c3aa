module example.com/misbehaving

go 1.19
