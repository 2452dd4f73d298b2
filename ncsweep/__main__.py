from ncsweep.cli import main

main()
