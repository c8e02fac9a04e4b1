# error: Dockerfile:4: the Dockerfile (Dockerfile) cannot be empty

# nothing but comments
   # and blank lines
