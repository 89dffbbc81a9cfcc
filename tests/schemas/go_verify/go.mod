module egovbus/signingvector

go 1.19
