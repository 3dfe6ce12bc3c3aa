module example.com/ready

go 1.19
