module example.com/forkbomb

go 1.19
