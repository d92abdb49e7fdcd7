from flask_smorest import Blueprint

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="NetSec Contest API v1")
