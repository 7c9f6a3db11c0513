module mailnest/flex

go 1.19
