"""Entry point: `python app.py [--models-dir DIR] [--host H] [--port P] [--share] [--device D]`."""
from app.server import main

if __name__ == "__main__":
    main()
