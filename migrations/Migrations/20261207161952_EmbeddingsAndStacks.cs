using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class EmbeddingsAndStacks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_vehicle_image_angles_source",
                table: "vehicle_image_angles");

            migrationBuilder.CreateTable(
                name: "image_embeddings",
                columns: table => new
                {
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    vector = table.Column<float[]>(type: "real[]", nullable: false),
                    focus = table.Column<double>(type: "double precision", nullable: false),
                    exposure = table.Column<double>(type: "double precision", nullable: false),
                    model = table.Column<string>(type: "character varying(60)", maxLength: 60, nullable: false),
                    computed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_embeddings", x => x.image_id);
                    table.ForeignKey(
                        name: "fk_image_embeddings_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "image_stacks",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false, defaultValueSql: "gen_random_uuid()"),
                    vehicle_id = table.Column<Guid>(type: "uuid", nullable: false),
                    picked_image_id = table.Column<Guid>(type: "uuid", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_stacks", x => x.id);
                    table.ForeignKey(
                        name: "fk_image_stacks_vehicle_images_picked_image_id",
                        column: x => x.picked_image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "fk_image_stacks_vehicles_vehicle_id",
                        column: x => x.vehicle_id,
                        principalTable: "vehicles",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "image_suggestions",
                columns: table => new
                {
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    category = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    angle = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    confidence = table.Column<double>(type: "double precision", nullable: false),
                    neighbours = table.Column<int>(type: "integer", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_suggestions", x => x.image_id);
                    table.CheckConstraint("ck_image_suggestions_confidence", "confidence BETWEEN 0 AND 1");
                    table.ForeignKey(
                        name: "fk_image_suggestions_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "image_stack_members",
                columns: table => new
                {
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    stack_id = table.Column<Guid>(type: "uuid", nullable: true),
                    stands_alone = table.Column<bool>(type: "boolean", nullable: false, defaultValue: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_stack_members", x => x.image_id);
                    table.CheckConstraint("ck_image_stack_members_alone", "NOT (stands_alone AND stack_id IS NOT NULL)");
                    table.ForeignKey(
                        name: "fk_image_stack_members_image_stacks_stack_id",
                        column: x => x.stack_id,
                        principalTable: "image_stacks",
                        principalColumn: "id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "fk_image_stack_members_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.AddCheckConstraint(
                name: "ck_vehicle_image_angles_source",
                table: "vehicle_image_angles",
                sql: "source IN ('ai', 'user', 'inherited', 'suggested')");

            migrationBuilder.CreateIndex(
                name: "ix_image_stack_members_stack_id",
                table: "image_stack_members",
                column: "stack_id");

            migrationBuilder.CreateIndex(
                name: "ix_image_stacks_picked_image_id",
                table: "image_stacks",
                column: "picked_image_id");

            migrationBuilder.CreateIndex(
                name: "ix_image_stacks_vehicle_id",
                table: "image_stacks",
                column: "vehicle_id");

            migrationBuilder.Sql(SqlScripts.Load("vi_image_stack.v1"));
            migrationBuilder.Sql(SqlScripts.Load("vi_stack_best.v1"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS vi_stack_best(uuid); DROP FUNCTION IF EXISTS vi_image_stack(uuid);");

            migrationBuilder.DropTable(
                name: "image_embeddings");

            migrationBuilder.DropTable(
                name: "image_stack_members");

            migrationBuilder.DropTable(
                name: "image_suggestions");

            migrationBuilder.DropTable(
                name: "image_stacks");

            migrationBuilder.DropCheckConstraint(
                name: "ck_vehicle_image_angles_source",
                table: "vehicle_image_angles");

            migrationBuilder.AddCheckConstraint(
                name: "ck_vehicle_image_angles_source",
                table: "vehicle_image_angles",
                sql: "source IN ('ai', 'user')");
        }
    }
}
